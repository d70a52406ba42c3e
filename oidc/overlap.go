package oidc

import "context"

// A code exchange's write (the code redeemed, the tokens stored) waits on
// the disk, and signing its ID token on the CPU. pendingWrite lets the two
// overlap: storage.issue starts the write and hands the library the
// tokens, the library signs, and then asks DeleteAuthRequest to forget the
// request, which waits for the write and fails the exchange with its
// error. So no token leaves before the code is marked used on disk.
type pendingWrite struct {
	done chan struct{}
	err  error
}

type pendingKey struct{}

func pendingFrom(ctx context.Context) *pendingWrite {
	pw, _ := ctx.Value(pendingKey{}).(*pendingWrite)
	return pw
}

func (pw *pendingWrite) start(write func() error) {
	pw.done = make(chan struct{})
	go func() {
		defer close(pw.done)
		pw.err = write()
	}()
}

// wait returns the write's error, or nil when none was started.
func (pw *pendingWrite) wait() error {
	if pw == nil || pw.done == nil {
		return nil
	}
	<-pw.done
	return pw.err
}
