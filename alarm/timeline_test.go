package alarm

import "testing"

func TestRecipientRole(t *testing.T) {
	for _, tc := range []struct{ group, want string }{
		{"householders", RoleHouseholder},
		{"contacts", RoleEmergencyContact},
		{"police", RolePolice},
		{"supervisors", RoleSupervisor},
		{"user:12", RoleStaff},
		{"user:", ""},
		{"everyone", ""},
	} {
		if got := RecipientRole(tc.group); got != tc.want {
			t.Errorf("RecipientRole(%q) = %q, want %q", tc.group, got, tc.want)
		}
	}
}
