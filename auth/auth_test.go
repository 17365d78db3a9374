package auth

import (
	"slices"
	"testing"
	"time"
)

func TestScope(t *testing.T) {
	tests := []struct {
		name  string
		actor Actor
		perm  Permission
		want  Scope
	}{
		{"deployment admin", Actor{User: User{Grants: []Grant{{Role: RoleAdmin}}}}, PermAuditRead, Scope{{}}},
		{"community operator", Actor{User: User{Grants: []Grant{{Role: RoleOperator, CommunityID: 3}}}}, PermPeopleRead, Scope{{CommunityID: 3}}},
		{"operator may not manage users", Actor{User: User{Grants: []Grant{{Role: RoleOperator, CommunityID: 3}}}}, PermUsersManage, nil},
		{"grid worker narrowed to the grid", Actor{User: User{Grants: []Grant{{Role: RoleGridWorker, CommunityID: 3, GridID: 7}}}}, PermHomesRead, Scope{{CommunityID: 3, GridID: 7}}},
		{"resident narrowed to the household", Actor{HouseholdID: 9, User: User{Grants: []Grant{{Role: RoleResident, CommunityID: 3}}}}, PermPeopleRead, Scope{{CommunityID: 3, HouseholdID: 9}}},
		{"resident without a home reaches nothing", Actor{User: User{Grants: []Grant{{Role: RoleResident, CommunityID: 3}}}}, PermPeopleRead, nil},
		{"only admins may hold the whole deployment", Actor{User: User{Grants: []Grant{{Role: RoleOperator}}}}, PermPeopleRead, nil},
		{"two communities", Actor{User: User{Grants: []Grant{{Role: RoleOperator, CommunityID: 1}, {Role: RolePolice, CommunityID: 2}}}}, PermDevicesRead, Scope{{CommunityID: 1}, {CommunityID: 2}}},
		{"nobody", Actor{}, PermCommunitiesRead, nil},
	}
	for _, tt := range tests {
		if got := tt.actor.Scope(tt.perm); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	var none *Actor
	if none.Scope(PermCommunitiesRead) != nil {
		t.Error("a nil actor reaches something")
	}
}

func TestScopeHelpers(t *testing.T) {
	s := Scope{{CommunityID: 1}, {CommunityID: 2, GridID: 5}}
	if !s.WholeCommunity(1) || s.WholeCommunity(2) || s.WholeCommunity(3) {
		t.Error("WholeCommunity")
	}
	if got := s.Communities(); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("Communities %v", got)
	}
	if got := s.Restrict(2); !slices.Equal(got, Scope{{CommunityID: 2, GridID: 5}}) {
		t.Errorf("Restrict %v", got)
	}
	if got := (Scope{{}}).Restrict(4); !slices.Equal(got, Scope{{CommunityID: 4}}) {
		t.Errorf("Restrict of everything %v", got)
	}
}

func TestEveryRoleHasPermissions(t *testing.T) {
	for _, r := range Roles {
		if len(PermissionsOf(r)) == 0 {
			t.Errorf("role %s can do nothing", r)
		}
	}
}

func TestPasswords(t *testing.T) {
	if _, err := HashPassword("short"); err == nil {
		t.Error("a short password was accepted")
	}
	h, err := HashPassword("a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	if !VerifyPassword(h, "a long enough password") || VerifyPassword(h, "a long enough passworD") {
		t.Error("verify")
	}
	for _, bad := range []string{"", "$argon2id$", "$bcrypt$x$y$z$w", h[:len(h)-3] + "!!!"} {
		if VerifyPassword(bad, "a long enough password") {
			t.Errorf("malformed hash %q verified", bad)
		}
	}
	if HashToken("a") == HashToken("b") || NewToken() == NewToken() {
		t.Error("tokens")
	}
}

func TestLockout(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var c Credentials
	for i := 1; i < MaxFailedLogins; i++ {
		c = c.AfterFailure(now)
		if c.Locked(now) {
			t.Fatalf("locked after %d failures", i)
		}
	}
	c = c.AfterFailure(now)
	if !c.Locked(now) || !c.Locked(now.Add(LockDuration-time.Second)) || c.Locked(now.Add(LockDuration)) {
		t.Errorf("lock window wrong: until %v", c.LockedUntil)
	}
	// Failures spread out wider than the window do not add up.
	var d Credentials
	for i := 0; i < 2*MaxFailedLogins; i++ {
		d = d.AfterFailure(now.Add(time.Duration(i) * (FailWindow + time.Second)))
	}
	if !d.LockedUntil.IsZero() {
		t.Error("slow failures locked the account")
	}
}

func TestRateLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewRateLimiter(3, 10*time.Second)
	for i := 0; i < 3; i++ {
		if !l.Allow("a", now) {
			t.Fatalf("try %d refused", i)
		}
	}
	if l.Allow("a", now) {
		t.Error("fourth try at once allowed")
	}
	if !l.Allow("b", now) {
		t.Error("another address was limited")
	}
	if !l.Allow("a", now.Add(10*time.Second)) || l.Allow("a", now.Add(10*time.Second)) {
		t.Error("refill is not one per period")
	}
}
