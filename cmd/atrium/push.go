package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/passkey"
	"github.com/atrium-dir/atrium/portal"
	"github.com/atrium-dir/atrium/push"
	"github.com/atrium-dir/atrium/signin"
)

// Passkeys confirm push approvals; the two packages meet only here.
var _ push.Confirmer = (*passkey.Passkeys)(nil)

// pushApprovals turns on push approvals: the sign-in's second factor, the
// self-service section and the approval pages. An approval is confirmed
// with the phone's passkey, so without passkeys (keys nil) push stays off.
// The VAPID keys are made on first start.
func pushApprovals(d *directory.Directory, e *signin.Engine, p *portal.Portal, keys *passkey.Passkeys, ext *url.URL, mux *http.ServeMux, log *slog.Logger) error {
	if keys == nil {
		log.Warn("push approvals are off: they are confirmed with passkeys, which this external URL does not allow", "external_url", ext.Redacted())
		return nil
	}
	vapid, err := push.EnsureVAPID(context.Background(), d)
	if err != nil {
		return fmt.Errorf("push approvals: %w", err)
	}
	notifier := &push.WebPush{Keys: vapid, Subscriber: push.Subscriber(ext.String())}
	approvals := push.NewApprovals(d, notifier, keys, log)
	e.AddSecondFactor(push.NewSecondFactor(approvals))
	p.AddAccountSection(push.NewSection(approvals))
	push.NewHandler(approvals, e, vapid, push.Options{Now: d.Now, Logger: log}).Mount(mux)
	return nil
}
