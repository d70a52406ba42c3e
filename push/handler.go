package push

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

//go:embed web
var pages embed.FS

var assets = must(fs.Sub(pages, "web/assets"))

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// resumeKind parks a request for /approve/{tx} while its user signs in.
const resumeKind = "push-approve"

// Handler serves the phone's side of push approvals: the approval page and
// its answers, the status the login page polls, enrollment of a phone (the
// VAPID key, the subscription, the setup page), the service worker and
// the web app manifest.
type Handler struct {
	approvals *Approvals
	signin    *signin.Engine
	keys      VAPID
	now       func() time.Time
	log       *slog.Logger
	mux       *http.ServeMux
	pages     *web.Renderer
}

// Options holds the handler's clock and logger; zero values take defaults.
type Options struct {
	Now    func() time.Time
	Logger *slog.Logger
}

// NewHandler returns the push pages. It registers with e the continuation
// that brings a user who had to sign in back to the approval page.
func NewHandler(a *Approvals, e *signin.Engine, keys VAPID, opts Options) *Handler {
	now, log := opts.Now, opts.Logger
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{approvals: a, signin: e, keys: keys, now: now, log: log, mux: http.NewServeMux(), pages: web.NewRenderer(log, pages, "web/*.html")}
	h.mux.HandleFunc("GET /approve/{tx}", h.approvePage)
	h.mux.HandleFunc("POST /approve/{tx}/choose", h.choose)
	h.mux.HandleFunc("POST /approve/{tx}/confirm", h.confirm)
	h.mux.HandleFunc("POST /approve/{tx}/deny", h.deny)
	h.mux.HandleFunc("POST /approve/{tx}/not-me", h.notMe)
	h.mux.HandleFunc("GET /push/status/{tx}", h.status)
	h.mux.HandleFunc("GET /push/key", h.publicKey)
	h.mux.HandleFunc("POST /push/subscribe", h.subscribe)
	h.mux.HandleFunc("POST /push/resume", h.resume)
	h.mux.HandleFunc("GET /push/phone", h.phonePage)
	h.mux.Handle("GET /push/assets/", http.StripPrefix("/push/assets/", http.FileServerFS(assets)))
	h.mux.HandleFunc("GET /push/icons/{file}", h.icon)
	h.mux.HandleFunc("GET /sw.js", h.serviceWorker)
	h.mux.HandleFunc("GET /manifest.webmanifest", h.manifest)
	e.Resume(resumeKind, h.resumeApproval)
	return h
}

// Mount adds the handler's paths to mux, behind web.Protect.
func (h *Handler) Mount(mux *http.ServeMux) {
	protected := web.Protect(h, h.log)
	for _, pattern := range []string{"/approve/", "/push/", "GET /sw.js", "GET /manifest.webmanifest"} {
		mux.Handle(pattern, protected)
	}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The push pages run their own scripts, call back home, register the
	// service worker and offer the web app manifest.
	w.Header().Set("Content-Security-Policy", web.AppCSP)
	h.mux.ServeHTTP(w, r)
}

// approveView is the data of approve.html.
type approveView struct {
	Tx          string
	CSRF        string
	App         string
	Browser, OS string
	IP          string
	Choices     [3]int
	SecondsLeft int
	DenyOnly    bool // opened from the notification's Deny action
}

// session returns the signed-in user on the phone, or answers the request.
// A page request without a session signs in first and comes back.
func (h *Handler) session(w http.ResponseWriter, r *http.Request) (signin.Session, bool) {
	s, ok := h.signin.Session(w, r)
	if ok {
		return s, true
	}
	if r.Method == http.MethodGet {
		payload, _ := json.Marshal(r.PathValue("tx"))
		h.signin.Begin(w, r, &signin.Parked{Kind: resumeKind, Payload: payload}, false)
		return signin.Session{}, false
	}
	h.message(w, http.StatusUnauthorized, "Signed out", "You are no longer signed in on this phone. Open the request again from the notification.")
	return signin.Session{}, false
}

func (h *Handler) resumeApproval(w http.ResponseWriter, r *http.Request, _ signin.Session, payload json.RawMessage) {
	var tx string
	if json.Unmarshal(payload, &tx) != nil || !validID(tx) {
		h.message(w, http.StatusBadRequest, "Unknown request", "This sign-in request is not known.")
		return
	}
	http.Redirect(w, r, "/approve/"+tx, http.StatusSeeOther)
}

// validID accepts what randomID makes, so a path value is safe in URLs.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (h *Handler) approvePage(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	tx, err := h.approvals.pending(r.Context(), r.PathValue("tx"), s.UserID)
	if err != nil {
		h.answerError(w, err)
		return
	}
	browser, os := Describe(tx.UserAgent)
	_, denyOnly := r.URL.Query()["deny"]
	h.render(w, http.StatusOK, "approve.html", "Approve sign-in?", approveView{
		Tx: tx.ID, CSRF: s.CSRF, App: tx.App, Browser: browser, OS: os, IP: tx.IP,
		Choices: tx.Choices, SecondsLeft: int(tx.Expires.Sub(h.now()).Seconds()), DenyOnly: denyOnly,
	})
}

// answerError shows why a transaction cannot be answered.
func (h *Handler) answerError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotYours):
		h.message(w, http.StatusForbidden, "Not your request", "This sign-in request belongs to another account. Sign in on this phone as the person who is signing in.")
	case errors.Is(err, ErrNotPending):
		h.message(w, http.StatusGone, "Request closed", "This sign-in request was already answered or has expired. Nothing more to do.")
	default:
		h.fail(w, "push answer", err)
	}
}

// formAnswer runs a one-tap answer (Deny, "This wasn't me") posted as a
// form.
func (h *Handler) formAnswer(w http.ResponseWriter, r *http.Request, answer func(ctx context.Context, id, userID string) error, title, message string) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	if !s.ValidCSRF(r) {
		h.message(w, http.StatusForbidden, "Form expired", "This form has expired. Open the request again from the notification.")
		return
	}
	if err := answer(r.Context(), r.PathValue("tx"), s.UserID); err != nil {
		h.answerError(w, err)
		return
	}
	h.message(w, http.StatusOK, title, message)
}

func (h *Handler) deny(w http.ResponseWriter, r *http.Request) {
	h.formAnswer(w, r, h.approvals.Deny, "Sign-in denied", "The sign-in was refused. If you did not try to sign in, change your password.")
}

func (h *Handler) notMe(w http.ResponseWriter, r *http.Request) {
	h.formAnswer(w, r, h.approvals.NotMe, "Sign-in refused and reported",
		"The sign-in was refused and push approvals are paused for your account. Someone knows your password: change it now, then turn approvals back on from your account page.")
}

// jsonAnswer reads the script's request for choose and confirm.
func (h *Handler) jsonAnswer(w http.ResponseWriter, r *http.Request, v any) (signin.Session, bool) {
	s, ok := h.signin.Session(w, r)
	if !ok {
		web.JSON(w, http.StatusUnauthorized, map[string]string{"error": "You are no longer signed in on this phone."})
		return s, false
	}
	if !s.ValidCSRF(r) {
		web.JSON(w, http.StatusForbidden, map[string]string{"error": "This page has expired. Open the request again."})
		return s, false
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		web.JSON(w, http.StatusBadRequest, map[string]string{"error": "The request could not be read."})
		return s, false
	}
	return s, true
}

// jsonError answers the script with the transaction's state or the
// problem, in words for the user.
func (h *Handler) jsonError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrWrongNumber):
		web.JSON(w, http.StatusOK, map[string]string{"result": string(Denied), "message": "That was not the number on the sign-in screen, so the sign-in is refused. If you did not try to sign in, change your password."})
	case errors.Is(err, ErrNotPending):
		web.JSON(w, http.StatusConflict, map[string]string{"result": string(Expired), "message": "This sign-in request was already answered or has expired."})
	case errors.Is(err, ErrNotYours):
		web.JSON(w, http.StatusForbidden, map[string]string{"error": "This sign-in request belongs to another account."})
	case errors.Is(err, ErrNoPasskey):
		web.JSON(w, http.StatusConflict, map[string]string{"error": "Approvals are confirmed with a passkey on this phone, and your account has none yet. On this phone, add one under Passkeys on your account page, then open this request again."})
	case errors.Is(err, ErrPasskey):
		h.log.Info("push approval not confirmed", "err", err)
		web.JSON(w, http.StatusUnauthorized, map[string]string{"error": "Your passkey did not confirm the approval. Try again."})
	default:
		h.log.Error("push answer", "err", err)
		web.JSON(w, http.StatusInternalServerError, map[string]string{"error": "Something went wrong on our side. Try again in a moment."})
	}
}

func (h *Handler) choose(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Number int `json:"number"`
	}
	s, ok := h.jsonAnswer(w, r, &req)
	if !ok {
		return
	}
	ch, err := h.approvals.Choose(r.Context(), r.PathValue("tx"), s.UserID, req.Number)
	if err != nil {
		h.jsonError(w, err)
		return
	}
	web.JSON(w, http.StatusOK, ch)
}

func (h *Handler) confirm(w http.ResponseWriter, r *http.Request) {
	var c Confirmation
	s, ok := h.jsonAnswer(w, r, &c)
	if !ok {
		return
	}
	c.Remote = web.RemoteAddr(r)
	if err := h.approvals.Approve(r.Context(), r.PathValue("tx"), s.UserID, c); err != nil {
		h.jsonError(w, err)
		return
	}
	web.JSON(w, http.StatusOK, map[string]string{"result": string(Approved), "message": "Approved. You can go back to the sign-in screen."})
}

// status tells the waiting login page where its transaction stands, and
// nothing more. The transaction id is a random capability only that page
// and the user's phones know.
func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	web.JSON(w, http.StatusOK, map[string]Result{"status": h.approvals.Status(r.Context(), r.PathValue("tx"))})
}

func (h *Handler) publicKey(w http.ResponseWriter, _ *http.Request) {
	web.JSON(w, http.StatusOK, map[string]string{"publicKey": h.keys.PublicKey()})
}

// subscribe enrolls the browser's PushSubscription as a push factor of the
// signed-in user. A browser subscribing again gets its existing factor
// back. Enrolling a phone turns push approvals back on.
func (h *Handler) subscribe(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signin.Account(w, r)
	if !ok {
		return
	}
	var req struct {
		Name         string          `json:"name"`
		Subscription json.RawMessage `json:"subscription"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		web.JSON(w, http.StatusBadRequest, map[string]string{"error": "The request could not be read."})
		return
	}
	sub, err := ParseSubscription(req.Subscription)
	if err != nil {
		web.JSON(w, http.StatusBadRequest, map[string]string{"error": "The browser's subscription is not usable: " + err.Error()})
		return
	}
	ctx := r.Context()
	devices, err := h.approvals.devices(ctx, a.User.ID)
	if err != nil {
		h.jsonError(w, err)
		return
	}
	id := ""
	for _, d := range devices {
		if d.sub.Endpoint == sub.Endpoint {
			id = d.factorID
		}
	}
	status := http.StatusOK
	if id == "" && !a.Recent {
		h.signin.AskSignInAgain(w, r) // a new phone is a new way in
		return
	}
	if id == "" {
		name := strings.TrimSpace(req.Name)
		if name == "" {
			name = "Phone"
		}
		secret, _ := json.Marshal(sub)
		f, err := h.approvals.dir.AddFactor(ctx, a.User.ID, directory.Factor{Kind: directory.FactorPush, Name: name}, secret)
		if errors.Is(err, directory.ErrInvalid) {
			web.JSON(w, http.StatusBadRequest, map[string]string{"error": "The phone could not be added: " + err.Error()})
			return
		}
		if err != nil {
			h.jsonError(w, err)
			return
		}
		id, status = f.ID, http.StatusCreated
	}
	if err := h.approvals.Unsuspend(ctx, a.User.ID); err != nil {
		h.jsonError(w, err)
		return
	}
	web.JSON(w, status, map[string]string{"id": id})
}

// resume turns push approvals back on after "this wasn't me".
func (h *Handler) resume(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signin.AccountChange(w, r)
	if !ok {
		return
	}
	if err := h.approvals.Unsuspend(r.Context(), a.User.ID); err != nil {
		h.fail(w, "resume push", err)
		return
	}
	http.Redirect(w, r, "/#push", http.StatusSeeOther)
}

// phoneView is the data of phone.html.
type phoneView struct {
	CSRF      string
	Secure    bool
	Suspended bool
}

func (h *Handler) phonePage(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signin.Account(w, r)
	if !ok {
		return
	}
	h.render(w, http.StatusOK, "phone.html", "Approve sign-ins on this phone", phoneView{
		CSRF: a.CSRF, Secure: a.SecureContext, Suspended: h.approvals.Suspended(r.Context(), a.User.ID),
	})
}

// serviceWorker is served from the root so that its scope covers
// /approve/, which a notification click opens.
func (h *Handler) serviceWorker(w http.ResponseWriter, r *http.Request) {
	body, err := pages.ReadFile("web/sw.js")
	if err != nil {
		h.fail(w, "service worker", err)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(body)
}

func (h *Handler) manifest(w http.ResponseWriter, _ *http.Request) {
	icon := func(size int) map[string]string {
		s := strconv.Itoa(size)
		return map[string]string{"src": "/push/icons/" + s + ".png", "sizes": s + "x" + s, "type": "image/png", "purpose": "any"}
	}
	w.Header().Set("Content-Type", "application/manifest+json")
	w.Header().Set("Cache-Control", "no-cache")
	json.NewEncoder(w).Encode(map[string]any{
		"name": "Atrium", "short_name": "Atrium", "id": "/", "start_url": "/", "scope": "/",
		"display": "standalone", "background_color": "#ffffff", "theme_color": iconColor,
		"icons": []map[string]string{icon(192), icon(512)},
	})
}

func (h *Handler) icon(w http.ResponseWriter, r *http.Request) {
	png, ok := icons()[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(png)
}

// page is the push pages' frame: a phone may install them as a web app.
func page(title string, data any) web.Page {
	return web.Page{Title: title, Data: data, Styles: []string{"/push/assets/push.css"}, Manifest: "/manifest.webmanifest", Icon: "/push/icons/192.png"}
}

func (h *Handler) render(w http.ResponseWriter, status int, name, title string, data any) {
	h.pages.Render(w, status, name, page(title, data))
}

func (h *Handler) message(w http.ResponseWriter, status int, title, message string) {
	pg := page(title, nil)
	pg.Message = message
	h.pages.Render(w, status, "message.html", pg)
}

func (h *Handler) fail(w http.ResponseWriter, what string, err error) {
	h.log.Error("push: "+what, "err", err)
	h.message(w, http.StatusInternalServerError, "Something went wrong", "Something went wrong on our side. Try again in a moment.")
}
