package samlidp

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/crewjam/saml"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/logsafe"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// IdP is the SAML identity provider. Build it with New.
type IdP struct {
	dir     *directory.Directory
	signin  *signin.Engine
	now     func() time.Time
	log     *slog.Logger
	keys    *directory.SecretsCache[keyring]
	replays *replayCache
	pages   *web.Renderer
}

const parkKind = "saml"

// Options holds the IdP's clock and logger; zero values take defaults.
type Options struct {
	Now    func() time.Time
	Logger *slog.Logger
}

// New returns the IdP over dir, signing users in through e.
func New(dir *directory.Directory, e *signin.Engine, opts Options) *IdP {
	now, log := opts.Now, opts.Logger
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	i := &IdP{dir: dir, signin: e, now: now, log: log, keys: directory.NewSecretsCache(dir, loadKeyring), replays: newReplayCache(), pages: web.NewRenderer(log, pages, "web/*.html")}
	e.Resume(parkKind, i.resume)
	return i
}

// EntityID is the IdP's entity ID: its metadata URL.
func (i *IdP) EntityID() string { return i.signin.URL("/saml/metadata") }

// Handler serves /saml/metadata, /saml/sso (both bindings) and
// /saml/launch/{app} (IdP-initiated login where the app allows it).
func (i *IdP) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /saml/metadata", i.serveMetadata)
	mux.HandleFunc("/saml/sso", i.serveSSO)
	mux.HandleFunc("GET /saml/launch/{app}", i.serveLaunch)
	return mux
}

// parked is an SSO request waiting in a sign-in flow.
type parked struct {
	AppID        string   `json:"app"`
	RequestID    string   `json:"id,omitempty"` // empty for IdP-initiated
	ACS          string   `json:"acs"`
	RelayState   string   `json:"relay,omitempty"`
	NameIDFormat string   `json:"nameIDFormat,omitempty"`
	WantMFA      bool     `json:"mfa,omitempty"`
	Force        bool     `json:"force,omitempty"`
	Methods      []string `json:"-"`
}

func (i *IdP) serveSSO(w http.ResponseWriter, r *http.Request) {
	in, ref := i.parseRequest(r)
	if ref != nil {
		i.refuse(w, r, ref)
		return
	}
	p := parked{AppID: in.app.ID, RequestID: in.req.ID, ACS: in.acs, RelayState: in.relayState}
	if pol := in.req.NameIDPolicy; pol != nil && pol.Format != nil {
		p.NameIDFormat = *pol.Format
	}
	if _, err := nameIDFormat(in.app, p.NameIDFormat); err != nil {
		i.refuse(w, r, &refusal{httpStatus: 400, message: "The application asked for a kind of user identifier Atrium cannot give it.", samlStatus: saml.StatusInvalidNameIDPolicy, detail: err, in: in})
		return
	}
	if rac := in.req.RequestedAuthnContext; rac != nil && rac.AuthnContextClassRef == classMFA {
		p.WantMFA = true
	}
	p.Force = in.req.ForceAuthn != nil && *in.req.ForceAuthn
	passive := in.req.IsPassive != nil && *in.req.IsPassive
	if passive {
		// Never show a page: answer from the session or with NoPassive.
		s, ok := i.signin.Session(w, r)
		if !ok || p.Force {
			i.refuse(w, r, &refusal{httpStatus: 200, message: "You are not signed in to Atrium.", samlStatus: saml.StatusNoPassive, in: in, detail: errors.New("IsPassive without a session")})
			return
		}
		i.answer(w, r, s, p, true)
		return
	}
	payload, _ := json.Marshal(p)
	i.signin.Begin(w, r, &signin.Parked{Kind: parkKind, Payload: payload, RequireMFA: in.app.RequireMFA || p.WantMFA, App: in.app.Name}, p.Force)
}

// serveLaunch starts an IdP-initiated login into an app that allows it.
func (i *IdP) serveLaunch(w http.ResponseWriter, r *http.Request) {
	app, err := i.dir.App(r.Context(), r.PathValue("app"))
	if err != nil || !app.IdPInitiated {
		i.pages.Message(w, http.StatusNotFound, "Unknown application", "There is no application with this name that can be opened from Atrium.")
		return
	}
	payload, _ := json.Marshal(parked{AppID: app.ID, ACS: app.ACS[0].URL})
	i.signin.Begin(w, r, &signin.Parked{Kind: parkKind, Payload: payload, RequireMFA: app.RequireMFA, App: app.Name}, false)
}

// resume issues the assertion once the user is signed in.
func (i *IdP) resume(w http.ResponseWriter, r *http.Request, s signin.Session, payload json.RawMessage) {
	var p parked
	if err := json.Unmarshal(payload, &p); err != nil {
		i.pages.Message(w, http.StatusBadRequest, "Sign-in expired", "This sign-in cannot be continued. Go back to the application and start again.")
		return
	}
	i.answer(w, r, s, p, false)
}

// answer checks the user may use the app and posts the signed Response to
// its ACS.
func (i *IdP) answer(w http.ResponseWriter, r *http.Request, s signin.Session, p parked, passive bool) {
	ctx := r.Context()
	app, err := i.appByID(ctx, p.AppID)
	if err != nil {
		i.pages.Message(w, http.StatusNotFound, "Unknown application", "This application is no longer registered with Atrium.")
		return
	}
	in := &incoming{app: app, req: saml.AuthnRequest{ID: p.RequestID}, acs: p.ACS, relayState: p.RelayState}
	u, err := i.dir.UserByID(ctx, s.UserID)
	if err != nil {
		i.refuse(w, r, &refusal{httpStatus: 500, message: "Something went wrong on our side.", detail: err})
		return
	}
	allowed, groups, err := i.access(ctx, app, u)
	if err != nil {
		i.refuse(w, r, &refusal{httpStatus: 500, message: "Something went wrong on our side.", detail: err})
		return
	}
	if !allowed {
		i.dir.Audit(directory.AuditEvent{Kind: "assertion", Subject: u.UID, Remote: web.RemoteAddr(r), Service: "saml:" + app.Name, Result: "denied", Detail: "not in the app's groups"})
		if passive {
			i.refuse(w, r, &refusal{httpStatus: 403, message: "You do not have access to " + app.Name + ".", samlStatus: saml.StatusRequestDenied, in: in, detail: errors.New("not in groups")})
			return
		}
		i.pages.Message(w, http.StatusForbidden, "No access", "You do not have access to "+app.Name+".")
		return
	}
	if (app.RequireMFA || p.WantMFA) && !signin.UsedMFA(s.Methods) {
		if !passive {
			// A session from before: ask for the second factor now (or
			// enrollment), then come back here with a new session.
			payload, _ := json.Marshal(p)
			i.signin.StepUp(w, r, s, &signin.Parked{Kind: parkKind, Payload: payload, RequireMFA: true, App: app.Name})
			return
		}
		i.dir.Audit(directory.AuditEvent{Kind: "assertion", Subject: u.UID, Remote: web.RemoteAddr(r), Service: "saml:" + app.Name, Result: "denied", Detail: "second factor required"})
		i.refuse(w, r, &refusal{httpStatus: 403, message: app.Name + " requires a second factor, and this sign-in used only a password.", samlStatus: saml.StatusNoAuthnContext, in: in, detail: errors.New("MFA required")})
		return
	}
	if err := i.claimAnswered(ctx, p); err != nil {
		i.refuseAnswered(w, r, in, err)
		return
	}
	resp, released, err := i.buildResponse(ctx, app, u, groups, s, p)
	if err != nil {
		i.refuse(w, r, &refusal{httpStatus: 500, message: "Something went wrong on our side.", detail: err})
		return
	}
	i.dir.Audit(directory.AuditEvent{Kind: "assertion", Subject: u.UID, Remote: web.RemoteAddr(r), Service: "saml:" + app.Name, Result: directory.ResultOK,
		Detail: "attributes=" + join(released) + " amr=" + join(signin.AMR(s.Methods))})
	i.postForm(w, http.StatusOK, app, p.ACS, resp, p.RelayState, "", true)
}

// refuseAnswered refuses a request another Response already answered
// (see claimAnswered), or says the claim could not be made.
func (i *IdP) refuseAnswered(w http.ResponseWriter, r *http.Request, in *incoming, err error) {
	if errors.Is(err, directory.ErrUsed) {
		i.refuse(w, r, &refusal{httpStatus: 400, message: usedMessage, samlStatus: saml.StatusRequestDenied, in: in, detail: err})
		return
	}
	i.pages.Fail(w, "saml response", err)
}

// refuse shows why a request is refused and, when the app's ACS is known,
// offers the SP a signed SAML error Response.
func (i *IdP) refuse(w http.ResponseWriter, r *http.Request, ref *refusal) {
	// The detail quotes what the client sent (an issuer, an ACS URL, an
	// XML error): clipped, so a 60 KB value costs a short line.
	i.log.Warn("saml request refused", "reason", ref.message, "detail", logsafe.Clip(fmt.Sprint(ref.detail)), "remote", web.RemoteAddr(r))
	if ref.in == nil || ref.samlStatus == "" {
		i.pages.Message(w, ref.httpStatus, "Cannot sign you in", ref.message)
		return
	}
	resp, err := i.errorResponse(r.Context(), ref.in, ref.samlStatus)
	if err != nil {
		i.log.Error("build SAML error response", "err", err)
		i.pages.Message(w, ref.httpStatus, "Cannot sign you in", ref.message)
		return
	}
	// IsPassive answers go straight back; others show the reason first.
	auto := ref.samlStatus == saml.StatusNoPassive
	i.postForm(w, ref.httpStatus, ref.in.app, ref.in.acs, resp, ref.in.relayState, ref.message, auto)
}
