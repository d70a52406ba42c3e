package signin_test

import (
	"slices"
	"testing"

	"github.com/atrium-dir/atrium/signin"
)

// Whether a sign-in used MFA has one answer for every front end: the
// second-factor step, an app that requires MFA, the amr a SAML assertion
// states.
func TestUsedMFA(t *testing.T) {
	for _, tc := range []struct {
		methods []string
		mfa     bool
		amr     []string
	}{
		{nil, false, nil},
		{[]string{"pwd"}, false, []string{"pwd"}},
		{[]string{"pwd", "pwd"}, false, []string{"pwd", "pwd"}},
		{[]string{"pwd", "otp"}, true, []string{"pwd", "otp", "mfa"}},
		{[]string{"pwd", "hwk"}, true, []string{"pwd", "hwk", "mfa"}},
		{[]string{"pwd", "mca"}, true, []string{"pwd", "mca", "mfa"}},
		// A stored "mfa" proves nothing by itself, and is not repeated.
		{[]string{"pwd", "mfa"}, false, []string{"pwd"}},
		{[]string{"pwd", "otp", "mfa"}, true, []string{"pwd", "otp", "mfa"}},
	} {
		if got := signin.UsedMFA(tc.methods); got != tc.mfa {
			t.Errorf("UsedMFA(%v) = %v, want %v", tc.methods, got, tc.mfa)
		}
		if got := signin.AMR(tc.methods); !slices.Equal(got, tc.amr) {
			t.Errorf("AMR(%v) = %v, want %v", tc.methods, got, tc.amr)
		}
	}
}
