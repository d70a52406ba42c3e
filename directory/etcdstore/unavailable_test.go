package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The errors etcd gives when it cannot answer for now count as
// ErrUnavailable, including a member's own timeout sent as code Unknown
// (seen when two of three members were killed during a read); a refusal
// does not.
func TestUnavailableErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{status.Error(codes.Unavailable, "etcdserver: no leader"), true},
		{status.Error(codes.DeadlineExceeded, "context deadline exceeded"), true},
		{status.Error(codes.Unknown, "context deadline exceeded"), true},
		{fmt.Errorf("read: %w", status.Error(codes.Unknown, "context deadline exceeded")), true},
		{context.DeadlineExceeded, true},
		{status.Error(codes.Unknown, "something else"), false},
		{status.Error(codes.InvalidArgument, "etcdserver: request is too large"), false},
	} {
		if got := errors.Is(unavailable(tc.err), ErrUnavailable); got != tc.want {
			t.Errorf("%v: unavailable %v, want %v", tc.err, got, tc.want)
		}
	}
}
