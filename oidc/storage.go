package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
)

// storage is the library's op.Storage over the directory: every rule
// (single-use codes, rotation, revocation, secrets) is the directory's;
// this type only translates.
type storage struct {
	p *Provider
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

// requestTTL is how long an authorization request may wait for the
// sign-in: as long as a sign-in flow lives.
const requestTTL = 15 * time.Minute

func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	app, err := s.p.dir.AppByClientID(ctx, req.ClientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithParent(err)
	}
	if err := checkPKCE(app, req); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(protocolOf(req))
	if err != nil {
		return nil, err
	}
	rec := directory.OIDCRequest{ID: randomID(), ClientID: req.ClientID, Protocol: raw}
	if err := s.p.dir.PutOIDCRequest(ctx, rec, requestTTL); err != nil {
		return nil, err
	}
	return decodeRequest(rec)
}

// checkPKCE requires S256 of public clients and refuses "plain" from
// everyone: it protects nothing a client could not protect with S256.
func checkPKCE(app directory.App, req *oidc.AuthRequest) *oidc.Error {
	switch {
	case req.CodeChallenge == "" && app.OIDC.Public:
		return oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method=S256 is required of this client")
	case req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	return nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	rec, err := s.p.dir.OIDCRequest(ctx, id)
	if err != nil {
		return nil, err
	}
	return decodeRequest(rec)
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	rec, err := s.p.dir.OIDCCode(ctx, code)
	if errors.Is(err, directory.ErrRevoked) {
		s.p.dir.Audit(directory.AuditEvent{Kind: "token", Service: "oidc", Result: "denied", Detail: "authorization code used twice; the tokens it gave are revoked"})
	}
	if err != nil {
		return nil, err
	}
	return decodeRequest(rec)
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.p.dir.SaveOIDCCode(ctx, id, code)
}

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	// After an exchange: the request is deleted only if the code was not
	// redeemed, so the exchange's write must be in first.
	if err := pendingFrom(ctx).wait(); err != nil {
		return err
	}
	return s.p.dir.DeleteOIDCRequest(ctx, id)
}

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	id, exp, _, err := s.issue(ctx, req, false, "")
	return id, exp, err
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	id, exp, refresh, err := s.issue(ctx, req, true, current)
	return id, refresh, exp, err
}

// issue stores the tokens of one response and audits them with the
// client and the scopes.
func (s *storage) issue(ctx context.Context, req op.TokenRequest, refresh bool, current string) (string, time.Time, string, error) {
	in := directory.OIDCIssue{Refresh: refresh, Rotate: current}
	switch r := req.(type) {
	case *authRequest:
		in.Grant = directory.OIDCGrant{ID: r.rec.ID, ClientID: r.rec.ClientID, UserID: r.rec.UserID, Scopes: r.p.Scopes, AuthTime: r.rec.AuthTime, AMR: r.rec.AMR}
	case *refreshRequest:
		in.Grant = r.grant
		in.Grant.Scopes = r.scopes
	default:
		return "", time.Time{}, "", fmt.Errorf("token request of type %T: %w", req, directory.ErrInvalid)
	}
	app, err := s.p.dir.AppByClientID(ctx, in.Grant.ClientID)
	if err != nil || app.OIDC == nil {
		return "", time.Time{}, "", oidc.ErrInvalidClient().WithParent(err)
	}
	in.AccessTTL, _, in.RefreshTTL = app.OIDC.Lifetimes()
	if _, ok := req.(*authRequest); ok {
		if pw := pendingFrom(ctx); pw != nil && pw.done == nil {
			// A new grant outlives its first access token: the expiry is
			// known before the write.
			in.Now = s.p.dir.Now()
			in.AccessID, in.RefreshToken = directory.NewOIDCTokenIDs()
			write := in
			pw.start(func() error { _, _, _, err := s.record(ctx, app, write); return err })
			if !refresh {
				in.RefreshToken = ""
			}
			return in.AccessID, in.Now.UTC().Add(in.AccessTTL), in.RefreshToken, nil
		}
	}
	return s.record(ctx, app, in)
}

// record stores the tokens and audits them.
func (s *storage) record(ctx context.Context, app directory.App, in directory.OIDCIssue) (string, time.Time, string, error) {
	id, exp, refreshToken, err := s.p.dir.IssueOIDCTokens(ctx, in)
	if err != nil {
		return "", time.Time{}, "", err
	}
	kinds := "access"
	if refreshToken != "" {
		kinds = "access,refresh"
	}
	s.p.dir.Audit(directory.AuditEvent{Kind: "token", Subject: s.p.uidOf(ctx, in.Grant.UserID), Service: "oidc:" + app.Name, Result: directory.ResultOK,
		Detail: "tokens=" + kinds + " scopes=" + strings.Join(in.Grant.Scopes, ",") + " amr=" + strings.Join(in.Grant.AMR, ",")})
	return id, exp, refreshToken, nil
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	tok, g, err := s.p.dir.OIDCRefreshToken(ctx, token)
	if errors.Is(err, directory.ErrRevoked) {
		s.p.dir.Audit(directory.AuditEvent{Kind: "token", Subject: s.p.uidOf(ctx, tok.UserID), Service: "oidc", Result: "denied", Detail: "refresh token revoked, reused or its user may no longer sign in"})
	}
	if err != nil {
		return nil, err
	}
	if err := s.stillAllowed(ctx, g); err != nil {
		return nil, err
	}
	return &refreshRequest{grant: g, scopes: tok.Scopes}, nil
}

// stillAllowed applies the app's rules again at a refresh: a user taken
// out of its groups, or an app that has since come to require MFA of a
// grant without it, ends the grant.
func (s *storage) stillAllowed(ctx context.Context, g directory.OIDCGrant) error {
	app, err := s.p.dir.AppByClientID(ctx, g.ClientID)
	if err != nil {
		return err
	}
	u, err := s.p.dir.UserByID(ctx, g.UserID)
	if err != nil {
		return err
	}
	allowed, err := s.p.allowed(ctx, app, u)
	if err != nil {
		return err
	}
	if allowed && (!app.RequireMFA || signin.UsedMFA(g.AMR)) {
		return nil
	}
	s.p.dir.Audit(directory.AuditEvent{Kind: "token", Subject: u.UID, Service: "oidc:" + app.Name, Result: "denied", Detail: "refresh refused: the app's groups or MFA rule no longer admit the grant"})
	if err := s.p.dir.RevokeOIDCGrant(ctx, g.ID); err != nil {
		return err
	}
	return fmt.Errorf("grant of %s: %w", u.UID, directory.ErrRevoked)
}

// refreshPrefix marks a refresh token handed from GetRefreshTokenInfo to
// RevokeToken; access token IDs never contain ':'.
const refreshPrefix = "r:"

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	tok, _, err := s.p.dir.OIDCRefreshToken(ctx, token)
	if err != nil || tok.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return tok.UserID, refreshPrefix + token, nil
}

func (s *storage) RevokeToken(ctx context.Context, tokenOrID, _, clientID string) *oidc.Error {
	var err error
	if refresh, ok := strings.CutPrefix(tokenOrID, refreshPrefix); ok {
		err = s.p.dir.RevokeOIDCRefresh(ctx, refresh, clientID)
	} else {
		err = s.p.dir.RevokeOIDCAccess(ctx, tokenOrID, clientID)
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

// TerminateSession ends the browser's sign-in (RP-initiated logout):
// the request that asked for it travels in ctx.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	call, ok := ctx.Value(endSessionKey{}).(endSessionCall)
	if !ok {
		return errors.New("end_session outside an HTTP request")
	}
	s.p.signin.SignOut(call.w, call.r)
	s.p.dir.Audit(directory.AuditEvent{Kind: "logout", Subject: s.p.uidOf(ctx, userID), Service: "oidc:" + clientID, Result: directory.ResultOK})
	return nil
}

// SigningKey is the current key of the algorithm the client asked for
// (see serveToken), RS256 by default.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	ring, err := s.p.keys.Load(ctx)
	if err != nil {
		return nil, err
	}
	alg, ok := ctx.Value(signingAlgKey{}).(jose.SignatureAlgorithm)
	if !ok {
		alg = jose.RS256
	}
	return ring.current[alg], nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return algorithms, nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	ring, err := s.p.keys.Load(ctx)
	if err != nil {
		return nil, err
	}
	return ring.published(), nil
}

// GetClientByClientID answers an unknown client with invalid_client: the
// library passes this error on as it is where a client authenticates.
func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	app, err := s.p.dir.AppByClientID(ctx, clientID)
	if errors.Is(err, directory.ErrNotFound) || err == nil && app.OIDC == nil {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client").WithParent(err)
	} else if err != nil {
		return nil, err
	}
	return client{app: app, loginURL: s.p.loginURL}, nil
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	if err := s.p.dir.CheckClientSecret(ctx, clientID, secret); err != nil {
		s.p.dir.Audit(directory.AuditEvent{Kind: "token", Subject: clientID, Service: "oidc", Result: directory.ResultBadPassword, Detail: "wrong client secret"})
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return nil
}

func (s *storage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, _ string, scopes []string) error {
	return s.p.setUserinfo(ctx, info, userID, scopes)
}

func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.p.setUserinfo(ctx, info, req.GetSubject(), scopes)
}

// SetUserinfoFromToken answers a live access token of a client that is
// still registered.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	tok, _, err := s.p.dir.OIDCAccessToken(ctx, tokenID)
	if err != nil || tok.UserID != subject {
		return fmt.Errorf("access token: %w", directory.ErrNotFound)
	}
	if _, err := s.p.dir.AppByClientID(ctx, tok.ClientID); err != nil {
		return fmt.Errorf("access token of a removed app: %w", err)
	}
	return s.p.setUserinfo(ctx, info, tok.UserID, tok.Scopes)
}

// SetIntrospectionFromToken answers only the client the token was issued
// to: another client learns nothing of it.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	tok, _, err := s.p.dir.OIDCAccessToken(ctx, tokenID)
	if err != nil || tok.UserID != subject || tok.ClientID != clientID {
		return fmt.Errorf("access token: %w", directory.ErrNotFound)
	}
	info := new(oidc.UserInfo)
	if err := s.p.setUserinfo(ctx, info, tok.UserID, tok.Scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Active, resp.Scope, resp.ClientID = true, tok.Scopes, tok.ClientID
	resp.Audience, resp.Expiration = []string{tok.ClientID}, oidc.FromTime(tok.Expires)
	resp.TokenType = oidc.BearerToken
	return nil
}

// Atrium issues opaque access tokens, so these carry nothing.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// JWT profile grants (private_key_jwt) are not offered.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT profile grants are not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile grants are not supported")
}

func (s *storage) Health(context.Context) error { return nil }
