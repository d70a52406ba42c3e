package oidc

import (
	"encoding/json"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
)

// protocol holds the authorization request's fields the directory keeps
// for us without reading them.
type protocol struct {
	RedirectURI         string                   `json:"redirectURI"`
	State               string                   `json:"state,omitempty"`
	Nonce               string                   `json:"nonce,omitempty"`
	Scopes              []string                 `json:"scopes"`
	ResponseType        oidc.ResponseType        `json:"responseType"`
	ResponseMode        oidc.ResponseMode        `json:"responseMode,omitempty"`
	CodeChallenge       string                   `json:"codeChallenge,omitempty"`
	CodeChallengeMethod oidc.CodeChallengeMethod `json:"codeChallengeMethod,omitempty"`
	Prompt              []string                 `json:"prompt,omitempty"`
	MaxAge              *uint                    `json:"maxAge,omitempty"`
}

func protocolOf(r *oidc.AuthRequest) protocol {
	return protocol{
		RedirectURI: r.RedirectURI, State: r.State, Nonce: r.Nonce, Scopes: r.Scopes,
		ResponseType: r.ResponseType, ResponseMode: r.ResponseMode,
		CodeChallenge: r.CodeChallenge, CodeChallengeMethod: r.CodeChallengeMethod,
		Prompt: r.Prompt, MaxAge: r.MaxAge,
	}
}

// authRequest is a directory.OIDCRequest as the library sees it.
type authRequest struct {
	rec directory.OIDCRequest
	p   protocol
}

var _ op.AuthRequest = (*authRequest)(nil)

func decodeRequest(rec directory.OIDCRequest) (*authRequest, error) {
	a := &authRequest{rec: rec}
	if err := json.Unmarshal(rec.Protocol, &a.p); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *authRequest) GetID() string                      { return a.rec.ID }
func (a *authRequest) GetACR() string                     { return acr(a.rec.AMR) }
func (a *authRequest) GetAMR() []string                   { return a.rec.AMR }
func (a *authRequest) GetAudience() []string              { return []string{a.rec.ClientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.rec.AuthTime }
func (a *authRequest) GetClientID() string                { return a.rec.ClientID }
func (a *authRequest) GetNonce() string                   { return a.p.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.p.RedirectURI }
func (a *authRequest) GetScopes() []string                { return a.p.Scopes }
func (a *authRequest) GetState() string                   { return a.p.State }
func (a *authRequest) GetSubject() string                 { return a.rec.UserID }
func (a *authRequest) Done() bool                         { return a.rec.Done }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.p.ResponseMode }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.p.ResponseType }

func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.p.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.p.CodeChallenge, Method: a.p.CodeChallengeMethod}
}

// refreshRequest is a live refresh token's grant as the library sees it.
type refreshRequest struct {
	grant  directory.OIDCGrant
	scopes []string
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string            { return r.grant.AMR }
func (r *refreshRequest) GetAudience() []string       { return []string{r.grant.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.grant.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.grant.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.grant.UserID }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }

// The authentication context classes an ID token states, the same the
// SAML assertions carry.
const (
	acrPassword = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	acrMFA      = "https://refeds.org/profile/mfa"
)

func acr(amr []string) string {
	if signin.UsedMFA(amr) {
		return acrMFA
	}
	return acrPassword
}
