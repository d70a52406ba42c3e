package push

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"net/http"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// kindFlowTx remembers the transaction of a sign-in flow, so reloading the
// login page shows the same number instead of sending another push.
const kindFlowTx = "push-flow"

// SecondFactor is push approval as a second factor of the
// sign-in: it sends the push, shows the number and waits for the phone.
type SecondFactor struct {
	approvals *Approvals
}

var _ signin.SecondFactor = SecondFactor{}

// NewSecondFactor returns the sign-in step of push approvals.
func NewSecondFactor(a *Approvals) SecondFactor {
	return SecondFactor{approvals: a}
}

func (SecondFactor) Kind() string  { return directory.FactorPush }
func (SecondFactor) Label() string { return "Approve on your phone" }

// waitView is the data of the "wait" fragment.
type waitView struct {
	Tx      string
	Number  int
	Status  Result
	Problem string // why no push is on its way
	Resend  string // the link that sends a new push
	Code    string // the link to use a code instead, if the user has one
}

var fragments = template.Must(template.New("").Parse(`{{define "wait"}}
<link rel="stylesheet" href="/push/assets/push.css">
{{if .Problem}}<p class="error">{{.Problem}}</p>
{{else if eq .Status "pending"}}<div id="push-wait" data-tx="{{.Tx}}">
<p>We sent a sign-in request to your phone. Open it and pick this number:</p>
<p class="bignumber">{{.Number}}</p>
<p id="push-status" class="status" role="status" aria-live="polite">Waiting for your phone…</p>
<button type="submit">Continue</button>
</div>
<script src="/push/assets/wait.js" defer></script>
{{else if eq .Status "approved"}}<p>Approved on your phone.</p>
<button type="submit" autofocus>Continue</button>
{{else}}<p class="error">{{if eq .Status "denied"}}The sign-in was refused on your phone.{{else}}The request to your phone has expired.{{end}}</p>
<a class="button" href="{{.Resend}}">Send a new request</a>
{{end}}
{{if .Code}}<p><a href="{{.Code}}">Use a code instead</a></p>{{end}}
{{end}}`))

// Form sends the push on first showing (or when asked to send a new one)
// and shows the number to pick on the phone.
func (sf SecondFactor) Form(r *http.Request, f *signin.Flow) (template.HTML, error) {
	ctx := r.Context()
	v := waitView{Resend: "/login?flow=" + f.ID + "&kind=push&resend=1"}
	var err error
	if v.Code, err = sf.codeLink(ctx, f); err != nil {
		return "", err
	}
	var txID string
	known := sf.approvals.dir.State(ctx, kindFlowTx, f.ID, &txID) == nil
	if known {
		v.Tx, v.Status = txID, sf.approvals.Status(ctx, txID)
		if tx, err := sf.approvals.Transaction(ctx, txID); err == nil {
			v.Number = tx.Number
		}
	}
	if !known || (v.Status == Denied || v.Status == Expired) && r.FormValue("resend") != "" {
		browser := r.UserAgent()
		tx, err := sf.approvals.Start(ctx, Request{UserID: f.UserID, App: f.AppName(), IP: web.RemoteAddr(r), UserAgent: browser})
		switch {
		case errors.Is(err, ErrSuspended):
			v.Problem = "Approvals on your phone are paused for your account. Use another way to sign in."
		case errors.Is(err, ErrTooMany):
			v.Problem = "Too many requests were sent to your phone. Wait a few minutes, or use another way to sign in."
		case errors.Is(err, ErrNoDevice):
			v.Problem = "Your phone could not be reached. Use another way to sign in."
		case err != nil:
			return "", err
		default:
			if err := sf.approvals.dir.PutState(ctx, kindFlowTx, f.ID, tx.ID, tx.Expires.Add(txKeep)); err != nil {
				return "", err
			}
			v.Tx, v.Number, v.Status = tx.ID, tx.Number, Pending
		}
	}
	var b bytes.Buffer
	if err := fragments.ExecuteTemplate(&b, "wait", v); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}

// codeLink offers the user's authenticator app, or else a recovery code.
func (sf SecondFactor) codeLink(ctx context.Context, f *signin.Flow) (string, error) {
	factors, err := sf.approvals.dir.Factors(ctx, f.UserID)
	if err != nil {
		return "", err
	}
	for _, fa := range factors {
		if fa.Kind == directory.FactorTOTP {
			return "/login?flow=" + f.ID + "&kind=" + directory.FactorTOTP, nil
		}
	}
	if left, err := sf.approvals.dir.RecoveryCodesLeft(ctx, f.UserID); err != nil || left == 0 {
		return "", err
	}
	return "/login?flow=" + f.ID + "&kind=" + signin.FactorRecovery, nil
}

// Submit accepts the flow's approved transaction, once.
func (sf SecondFactor) Submit(ctx context.Context, _ *http.Request, f *signin.Flow) error {
	var txID string
	if err := sf.approvals.dir.State(ctx, kindFlowTx, f.ID, &txID); err != nil {
		return &signin.StepError{Status: http.StatusBadRequest, Message: "No request was sent to your phone. Send one, or use a code."}
	}
	res, err := sf.approvals.Finish(ctx, txID, f.UserID)
	if err != nil {
		return err
	}
	switch res {
	case Approved:
		if err := sf.approvals.dir.DeleteState(ctx, kindFlowTx, f.ID); err != nil {
			return err
		}
		// Approved on another device, over another channel, and confirmed
		// there with the phone's passkey.
		f.Proved("mca")
		return nil
	case Pending:
		return &signin.StepError{Status: http.StatusConflict, Message: "Not approved yet. Open the request on your phone and pick the number below."}
	case Denied:
		return &signin.StepError{Status: http.StatusUnauthorized, Message: "The sign-in was refused on your phone."}
	default:
		return &signin.StepError{Status: http.StatusRequestTimeout, Message: "The request to your phone has expired."}
	}
}
