package oidc

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// Provider is the OpenID Connect provider. Build it with New.
type Provider struct {
	dir    *directory.Directory
	signin *signin.Engine
	now    func() time.Time
	log    *slog.Logger
	pages  *web.Renderer
	keys   *directory.SecretsCache[keyring]
	op     *op.Provider
	issuer string
}

const parkKind = "oidc"

//go:embed web
var pages embed.FS

// The one scope Atrium answers beyond the standard ones.
const scopeGroups = "groups"

// Options holds the provider's clock and logger; zero values take
// defaults.
type Options struct {
	Now    func() time.Time
	Logger *slog.Logger
}

// New returns the provider over dir, signing users in through e. It
// creates the signing key on first start.
func New(ctx context.Context, dir *directory.Directory, e *signin.Engine, opts Options) (*Provider, error) {
	p := &Provider{dir: dir, signin: e, now: opts.Now, log: opts.Logger, keys: directory.NewSecretsCache(dir, loadKeyring)}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.pages = web.NewRenderer(p.log, pages, "web/*.html")
	if err := EnsureKeys(ctx, dir); err != nil {
		return nil, fmt.Errorf("OIDC keys: %w", err)
	}
	tokenKey, err := dir.Secret(ctx, secretTokenKey)
	if err != nil {
		return nil, fmt.Errorf("OIDC token key: %w", err)
	}
	p.issuer = Issuer(e)
	var options []op.Option
	if strings.HasPrefix(p.issuer, "http://") {
		options = append(options, op.WithAllowInsecure())
	}
	options = append(options,
		op.WithCustomEndpoints(op.NewEndpoint(pathAuthorize), op.NewEndpoint(pathToken), op.NewEndpoint(pathUserinfo),
			op.NewEndpoint(pathRevoke), op.NewEndpoint(pathEndSession), op.NewEndpoint(pathKeys)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(pathIntrospect)))
	p.op, err = op.NewProvider(p.config(tokenKey, e), &storage{p: p}, op.StaticIssuer(p.issuer), options...)
	if err != nil {
		return nil, fmt.Errorf("OIDC provider: %w", err)
	}
	e.Resume(parkKind, p.resume)
	return p, nil
}

// supportedClaims are the claims discovery lists.
var supportedClaims = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash", "azp",
	"name", "given_name", "family_name", "preferred_username", "email", "email_verified", "groups"}

func (p *Provider) config(tokenKey []byte, e *signin.Engine) *op.Config {
	cfg := &op.Config{
		CryptoKeyId:              "atrium-1",
		DefaultLogoutRedirectURI: e.URL(pathSignedOut),
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, scopeGroups, oidc.ScopeOfflineAccess},
		SupportedClaims:          supportedClaims,
	}
	copy(cfg.CryptoKey[:], tokenKey)
	return cfg
}

// Issuer is the issuer identifier of the provider served through e: the
// external URL, without a trailing slash.
func Issuer(e *signin.Engine) string { return strings.TrimSuffix(e.URL(""), "/") }

// Endpoint paths, all under /oidc/ but discovery.
const (
	pathDiscovery  = "/.well-known/openid-configuration"
	pathAuthorize  = "/oidc/authorize"
	pathToken      = "/oidc/token"
	pathIntrospect = "/oidc/introspect"
	pathUserinfo   = "/oidc/userinfo"
	pathRevoke     = "/oidc/revoke"
	pathEndSession = "/oidc/end_session"
	pathKeys       = "/oidc/keys"
	pathLogin      = "/oidc/login"
	pathSignedOut  = "/oidc/signed-out"
)

// Endpoints names the endpoints an admin gives a client, by the names
// discovery uses.
func Endpoints(issuer string) [][2]string {
	return [][2]string{
		{"Discovery", issuer + pathDiscovery}, {"Authorization", issuer + pathAuthorize}, {"Token", issuer + pathToken},
		{"UserInfo", issuer + pathUserinfo}, {"JWKS", issuer + pathKeys}, {"Revocation", issuer + pathRevoke},
		{"Introspection", issuer + pathIntrospect}, {"End session", issuer + pathEndSession},
	}
}

// Mount adds the provider to mux behind web.Protect: discovery and
// everything under /oidc/.
func (p *Provider) Mount(mux *http.ServeMux) {
	h := web.Protect(p.Handler(), p.log)
	mux.Handle("/oidc/", h)
	mux.Handle(pathDiscovery, h)
}

// Handler serves discovery, the protocol endpoints, the login hand-off
// and the signed-out page. The library's own login callback is not
// served: the code is given only to the browser that signed in.
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathLogin, p.serveLogin)
	mux.HandleFunc("GET "+pathSignedOut, func(w http.ResponseWriter, r *http.Request) {
		p.pages.Message(w, http.StatusOK, "Signed out", "You are signed out of Atrium.")
	})
	mux.HandleFunc(pathEndSession, p.serveEndSession)
	mux.HandleFunc(pathAuthorize, p.serveAuthorize)
	mux.HandleFunc(pathToken, p.serveToken)
	mux.HandleFunc("GET "+pathDiscovery, p.serveDiscovery)
	for _, path := range []string{pathIntrospect, pathUserinfo, pathRevoke, pathKeys} {
		mux.Handle(path, p.op)
	}
	return mux
}

func (p *Provider) loginURL(id string) string {
	return p.signin.URL(pathLogin) + "?id=" + url.QueryEscape(id)
}

// serveDiscovery is the library's discovery document narrowed to what
// Atrium offers: the code flow, and no device flow.
func (p *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	cfg := op.CreateDiscoveryConfig(op.ContextWithIssuer(r.Context(), p.issuer), p.op, p.op.Storage())
	cfg.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	cfg.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	cfg.DeviceAuthorizationEndpoint = ""
	// Single-page apps read it from their own origin.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	op.Discover(w, cfg)
}

// signingAlgKey carries the algorithm the client's ID tokens are signed
// with to storage.SigningKey, which the library asks with a context only.
type signingAlgKey struct{}

// serveToken finds the client's signing algorithm before the library
// issues its tokens, and for a code exchange overlaps the tokens' write
// with the signing (pendingWrite). The library authenticates the client.
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	id, _, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
	} else if r.ParseForm() == nil {
		id = r.PostForm.Get("client_id")
	}
	app, err := p.dir.AppByClientID(r.Context(), id)
	if err == nil && app.OIDC != nil && app.OIDC.SigningAlg == string(jose.ES256) {
		r = r.WithContext(context.WithValue(r.Context(), signingAlgKey{}, jose.ES256))
	}
	if r.PostFormValue("grant_type") != string(oidc.GrantTypeCode) {
		p.op.ServeHTTP(w, r)
		return
	}
	pw := &pendingWrite{}
	p.op.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), pendingKey{}, pw)))
	pw.wait() // when the library failed before DeleteAuthRequest waited
}

// serveAuthorize refuses request_uri, which the library would silently
// ignore, with the error OpenID Connect Core 6.3 names: at the client's
// redirect URI when it is registered, else on a page.
func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("request_uri") == "" {
		p.op.ServeHTTP(w, r)
		return
	}
	app, err := p.dir.AppByClientID(r.Context(), r.Form.Get("client_id"))
	to := r.Form.Get("redirect_uri")
	if err != nil || app.OIDC == nil || !slices.Contains(app.OIDC.RedirectURIs, to) {
		p.pages.Message(w, http.StatusBadRequest, "Cannot sign you in", "The application sent a request Atrium does not support (request_uri).")
		return
	}
	q := url.Values{"error": {"request_uri_not_supported"}}
	if state := r.Form.Get("state"); state != "" {
		q.Set("state", state)
	}
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	http.Redirect(w, r, to+sep+q.Encode(), http.StatusFound)
}

// parked is an authorization request waiting in a sign-in flow.
type parked struct {
	ID string `json:"id"`
}

// serveLogin takes over from /authorize: it answers prompt=none from the
// session, and otherwise parks the request in a sign-in, a fresh one when
// prompt=login or max_age asks for it.
func (p *Provider) serveLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rec, err := p.dir.OIDCRequest(ctx, r.URL.Query().Get("id"))
	if err != nil {
		p.pages.Message(w, http.StatusBadRequest, "Sign-in expired", "This sign-in cannot be continued. Go back to the application and start again.")
		return
	}
	req, err := decodeRequest(rec)
	if err != nil {
		p.pages.Fail(w, "oidc: decode request", err)
		return
	}
	app, err := p.dir.AppByClientID(ctx, rec.ClientID)
	if err != nil {
		p.pages.Message(w, http.StatusNotFound, "Unknown application", "This application is no longer registered with Atrium.")
		return
	}
	s, ok := p.signin.Session(w, r)
	fresh := ok && (req.p.MaxAge == nil || p.now().Sub(s.AuthTime) <= time.Duration(*req.p.MaxAge)*time.Second)
	if slices.Contains(req.p.Prompt, oidc.PromptNone) {
		if !fresh {
			p.authError(w, r, req, oidc.ErrLoginRequired().WithDescription("the user is not signed in to Atrium"))
			return
		}
		p.answer(w, r, s, req, true)
		return
	}
	payload, _ := json.Marshal(parked{ID: rec.ID})
	p.signin.Begin(w, r, &signin.Parked{Kind: parkKind, Payload: payload, RequireMFA: app.RequireMFA, App: app.Name}, ok && !fresh)
}

// resume answers the parked request once the user has signed in.
func (p *Provider) resume(w http.ResponseWriter, r *http.Request, s signin.Session, payload json.RawMessage) {
	var pk parked
	err := json.Unmarshal(payload, &pk)
	var rec directory.OIDCRequest
	if err == nil {
		rec, err = p.dir.OIDCRequest(r.Context(), pk.ID)
	}
	var req *authRequest
	if err == nil {
		req, err = decodeRequest(rec)
	}
	if err != nil {
		p.pages.Message(w, http.StatusBadRequest, "Sign-in expired", "This sign-in cannot be continued. Go back to the application and start again.")
		return
	}
	p.answer(w, r, s, req, false)
}

// answer applies the app's rules to the signed-in user and sends the code
// to the client. passive (prompt=none) never shows a page.
func (p *Provider) answer(w http.ResponseWriter, r *http.Request, s signin.Session, req *authRequest, passive bool) {
	ctx := r.Context()
	app, err := p.dir.AppByClientID(ctx, req.rec.ClientID)
	if err != nil || app.OIDC == nil {
		p.pages.Message(w, http.StatusNotFound, "Unknown application", "This application is no longer registered with Atrium.")
		return
	}
	u, err := p.dir.UserByID(ctx, s.UserID)
	if err != nil {
		p.pages.Fail(w, "oidc: read user", err)
		return
	}
	allowed, err := p.allowed(ctx, app, u)
	if err != nil {
		p.pages.Fail(w, "oidc: read groups", err)
		return
	}
	audit := directory.AuditEvent{Kind: "assertion", Subject: u.UID, Remote: web.RemoteAddr(r), Service: "oidc:" + app.Name, Result: "denied"}
	if !allowed {
		audit.Detail = "not in the app's groups"
		p.dir.Audit(audit)
		if passive {
			p.authError(w, r, req, oidc.ErrAccessDenied().WithDescription("the user may not use this application"))
			return
		}
		p.pages.Message(w, http.StatusForbidden, "No access", "You do not have access to "+app.Name+".")
		return
	}
	if app.RequireMFA && !signin.UsedMFA(s.Methods) {
		if !passive {
			payload, _ := json.Marshal(parked{ID: req.rec.ID})
			p.signin.StepUp(w, r, s, &signin.Parked{Kind: parkKind, Payload: payload, RequireMFA: true, App: app.Name})
			return
		}
		audit.Detail = "second factor required"
		p.dir.Audit(audit)
		p.authError(w, r, req, oidc.ErrInteractionRequired().WithDescription("this application requires a second factor"))
		return
	}
	amr := signin.AMR(s.Methods)
	if err := p.dir.CompleteOIDCRequest(ctx, req.rec.ID, u.ID, s.AuthTime, amr); err != nil {
		p.pages.Message(w, http.StatusBadRequest, "Sign-in expired", "This sign-in cannot be continued. Go back to the application and start again.")
		return
	}
	req.rec.UserID, req.rec.AuthTime, req.rec.AMR, req.rec.Done = u.ID, s.AuthTime.UTC(), amr, true
	// Like a SAML assertion: the user's recent sign-ins list it.
	audit.Result, audit.Detail = directory.ResultOK, "scopes="+strings.Join(req.p.Scopes, ",")+" amr="+strings.Join(amr, ",")
	p.dir.Audit(audit)
	r = r.WithContext(op.ContextWithIssuer(ctx, p.issuer))
	if r.URL.Path == pathLogin || req.p.ResponseMode == oidc.ResponseModeFormPost {
		op.AuthResponse(req, p.op, w, r)
		return
	}
	// This ends the sign-in pages' form posts, and a browser checks their
	// CSP (form-action 'self') on every redirect that follows one: a
	// redirect to the client would be blocked. A page moves on instead.
	to, err := op.BuildAuthResponseCallbackURL(ctx, req, p.op)
	if err != nil {
		op.AuthRequestError(w, r, req, err, p.op)
		return
	}
	p.continueTo(w, app.Name, to)
}

// continueTo shows a page that moves on to the client at once.
func (p *Provider) continueTo(w http.ResponseWriter, app, to string) {
	nonce := randomID()
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
	p.pages.Render(w, http.StatusOK, "continue.html", web.Page{Title: "Signing you in…", Data: struct{ URL, App, Nonce string }{to, app, nonce}})
}

// authError sends err back to the client's (already checked) redirect URI.
func (p *Provider) authError(w http.ResponseWriter, r *http.Request, req *authRequest, err *oidc.Error) {
	p.log.Info("oidc request refused", "client", req.rec.ClientID, "error", err.ErrorType, "detail", err.Description, "remote", web.RemoteAddr(r))
	op.AuthRequestError(w, r, req, err, p.op)
}

// allowed reports whether u may use app: the same group rule as SAML
// apps, nested groups included.
func (p *Provider) allowed(ctx context.Context, app directory.App, u directory.User) (bool, error) {
	if len(app.Groups) == 0 {
		return true, nil
	}
	names, err := p.groupNames(ctx, u)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(app.Groups, func(g string) bool {
		return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(g, n) })
	}), nil
}

func (p *Provider) groupNames(ctx context.Context, u directory.User) ([]string, error) {
	groups, err := p.dir.EffectiveGroups(ctx, u.UID)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(groups))
	for _, g := range groups {
		names = append(names, g.CN)
	}
	slices.Sort(names)
	return names, nil
}

// setUserinfo fills the claims scopes release about userID.
func (p *Provider) setUserinfo(ctx context.Context, info *oidc.UserInfo, userID string, scopes []string) error {
	u, err := p.dir.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	info.Subject = u.ID
	for _, scope := range scopes {
		switch scope {
		case oidc.ScopeProfile:
			info.Name, info.GivenName, info.FamilyName, info.PreferredUsername = u.CommonName(), u.GivenName, u.Surname, u.UID
		case oidc.ScopeEmail:
			// Atrium's admins set mail addresses; users cannot.
			info.Email, info.EmailVerified = u.Mail, oidc.Bool(u.Mail != "")
		case scopeGroups:
			names, err := p.groupNames(ctx, u)
			if err != nil {
				return err
			}
			info.AppendClaims("groups", names)
		}
	}
	return nil
}

func (p *Provider) uidOf(ctx context.Context, userID string) string {
	if u, err := p.dir.UserByID(ctx, userID); err == nil {
		return u.UID
	}
	return userID
}

// endSessionCall carries the end_session request to TerminateSession, so
// the sign-out happens only once the library has checked the request.
type (
	endSessionKey  struct{}
	endSessionCall struct {
		w http.ResponseWriter
		r *http.Request
	}
)

func (p *Provider) serveEndSession(w http.ResponseWriter, r *http.Request) {
	ctx := context.WithValue(r.Context(), endSessionKey{}, endSessionCall{w: w, r: r})
	p.op.ServeHTTP(w, r.WithContext(ctx))
}

func randomID() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
