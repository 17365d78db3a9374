package auth

// Permission is one thing a role may do. Routes name the permission they
// need; the store narrows what a permission reaches to the grant's scope.
type Permission string

const (
	PermCommunitiesRead  Permission = "communities.read"
	PermCommunitiesWrite Permission = "communities.write"
	PermGridsRead        Permission = "grids.read"
	PermGridsWrite       Permission = "grids.write"
	PermBuildingsRead    Permission = "buildings.read"
	PermBuildingsWrite   Permission = "buildings.write"
	PermHomesRead        Permission = "homes.read"
	PermHomesWrite       Permission = "homes.write"
	PermPeopleRead       Permission = "people.read"
	PermPeopleWrite      Permission = "people.write"
	// PermPeoplePII lets a role read ID and phone numbers unmasked.
	PermPeoplePII        Permission = "people.pii"
	PermDevicesRead      Permission = "devices.read"
	PermDevicesWrite     Permission = "devices.write"
	PermAssociationsRead Permission = "associations.read"
	PermStaffRead        Permission = "staff.read"
	PermUsersManage      Permission = "users.manage"
	PermAuditRead        Permission = "audit.read"
	PermImport           Permission = "data.import"
	PermExport           Permission = "data.export"
	// Alarm centre.
	PermAlarmRead      Permission = "alarm.read"      // events, incidents, arm states, the live stream
	PermAlarmConfigure Permission = "alarm.configure" // register panels and sensors
	PermIncidentHandle Permission = "incident.handle" // acknowledge, dispatch, resolve
	PermIncidentAttend Permission = "incident.attend" // accept a dispatch, report arrival
	PermAlarmArm       Permission = "alarm.arm"       // arm and disarm a home
	PermSOS            Permission = "alarm.sos"       // press the SOS button
	PermPosition       Permission = "staff.position"  // report one's own position for dispatch
	// Matters residents bring.
	PermMatterSubmit    Permission = "matter.submit"    // file a matter (residents; staff for a resident)
	PermMatterRead      Permission = "matter.read"      // see matters (residents: their household's)
	PermMatterHandle    Permission = "matter.handle"    // accept, assign, resolve, reject, return
	PermMatterConfigure Permission = "matter.configure" // manage categories and service levels
	PermMatterOwn       Permission = "matter.own"       // resubmit and rate one's own matters, as the resident
	PermOpen311Manage   Permission = "open311.manage"   // create, list and revoke Open311 API keys
	// Notices, guides and policies.
	PermContentRead    Permission = "content.read"    // the feed, guides, policies, search
	PermContentWrite   Permission = "content.write"   // notices (a grid grant: its grid's only), guides and policies (whole community)
	PermContentConfirm Permission = "content.confirm" // confirm having read an important notice
	PermContentTrack   Permission = "content.track"   // see which households have not confirmed, to knock on their doors
	// The lost-and-found board.
	PermBoardRead     Permission = "board.read"
	PermBoardPost     Permission = "board.post"
	PermBoardModerate Permission = "board.moderate"
	// The associations' ledgers, partners and employment. What a ledger
	// permission reaches is narrowed by the grant: admins their community,
	// association roles the association their grant names (see package
	// assoc for the rules), partners only what a live sharing grant covers.
	PermLedgerRead        Permission = "ledger.read"         // ledger types and entries, follow-ups, openings, placement counts
	PermLedgerWrite       Permission = "ledger.write"        // enter and change entries, record consent
	PermLedgerConfigure   Permission = "ledger.configure"    // ledger types and their fields
	PermGrantsManage      Permission = "grants.manage"       // partner organisations; grant and revoke ledger sharing
	PermFollowUp          Permission = "ledger.followup"     // record what was done for a resident (job offered, interview, placed, declined)
	PermOpeningsWrite     Permission = "employment.openings" // post and change job openings
	PermAssociationsWrite Permission = "associations.write"  // add and rename associations, set chairs and members
	PermIntakeSubmit      Permission = "intake.submit"       // bring a problem to an association (residents; members for a resident)
	PermIntakeHandle      Permission = "intake.handle"       // take up the problems brought to one's association
	// Services the associations give, mediation, assistance and their
	// statistics; narrowed like the ledgers: admins their community,
	// association roles the association their grant names.
	PermCaseRead        Permission = "case.read"            // individual and group services, mediations
	PermCaseWrite       Permission = "case.write"           // open and record services and mediations
	PermAssistanceRead  Permission = "assistance.read"      // the policy catalogue, who appears eligible, applications
	PermAssistanceWrite Permission = "assistance.write"     // file applications and record their outcome
	PermPolicyConfigure Permission = "assistance.configure" // the relief and subsidy policies and their eligibility rules
	PermStatsRead       Permission = "stats.read"           // the associations' statistics and their export
	// PermJobsManage lets a role see stuck and failed background jobs and
	// retry them. The queue serves the whole deployment, so only a grant
	// that reaches every community can use it.
	PermJobsManage Permission = "jobs.manage"
	// A resident's personal data (PIPL): their own, an office worker's on
	// their behalf (audited), the administrator's review of erasures.
	PermPrivacyOwn    Permission = "privacy.own"
	PermPrivacyAssist Permission = "privacy.assist"
	PermPrivacyReview Permission = "privacy.review"
	// The loudspeakers.
	PermBroadcastRead      Permission = "broadcast.read"      // zones, the programme, rundowns, the library, the as-run log
	PermBroadcastWrite     Permission = "broadcast.write"     // zones, slots, rundowns and the library
	PermBroadcastEmergency Permission = "broadcast.emergency" // cut into the loudspeakers with an emergency announcement
	PermBroadcastDedicate  Permission = "broadcast.dedicate"  // request a song for someone (residents: their own requests)
	// Access control.
	PermAccessRead   Permission = "access.read"   // doors, credentials, passes, the access log (residents: their household's)
	PermAccessManage Permission = "access.manage" // doors, issuing and revoking credentials, move-outs
	PermAccessOwn    Permission = "access.own"    // a resident's visitor passes, phone key and lost cards: their household's
	PermAccessDecide Permission = "access.decide" // ask for a decision as a controller does
	// Footage and warning notices (package evidence).
	PermFootageRequest Permission = "footage.request" // request camera footage; download what was approved for oneself
	PermFootageApprove Permission = "footage.approve" // the director: approve or refuse footage requests and warning notices, release legal holds
	PermWarningRequest Permission = "warning.request" // ask for a warning notice with a captured face
	PermWarningRead    Permission = "warning.read"    // read the community's published warning notices
)

// rolePermissions says what each role may do within its grant's scope.
// It is the one place to read to know who can do what.
var rolePermissions = map[Role][]Permission{
	RoleAdmin: {
		PermCommunitiesRead, PermCommunitiesWrite, PermGridsRead, PermGridsWrite,
		PermBuildingsRead, PermBuildingsWrite, PermHomesRead, PermHomesWrite,
		PermPeopleRead, PermPeopleWrite, PermPeoplePII, PermDevicesRead, PermDevicesWrite,
		PermAssociationsRead, PermStaffRead, PermUsersManage, PermAuditRead, PermImport, PermExport,
		PermAlarmRead, PermAlarmConfigure, PermIncidentHandle, PermIncidentAttend, PermAlarmArm, PermPosition,
		PermMatterSubmit, PermMatterRead, PermMatterHandle, PermMatterConfigure, PermOpen311Manage,
		PermContentRead, PermContentWrite, PermContentTrack,
		PermBoardRead, PermBoardPost, PermBoardModerate,
		PermLedgerRead, PermLedgerWrite, PermLedgerConfigure, PermGrantsManage, PermFollowUp, PermOpeningsWrite,
		PermAssociationsWrite, PermIntakeSubmit, PermIntakeHandle,
		PermCaseRead, PermCaseWrite, PermAssistanceRead, PermAssistanceWrite, PermPolicyConfigure, PermStatsRead,
		PermJobsManage,
		PermBroadcastRead, PermBroadcastWrite, PermBroadcastEmergency, PermBroadcastDedicate,
		PermAccessRead, PermAccessManage, PermAccessDecide,
		PermPrivacyAssist, PermPrivacyReview,
		PermFootageRequest, PermFootageApprove, PermWarningRequest, PermWarningRead,
	},
	// The monitoring centre calls householders and sends staff to homes.
	RoleOperator: {
		PermCommunitiesRead, PermGridsRead, PermBuildingsRead, PermHomesRead,
		PermPeopleRead, PermPeoplePII, PermDevicesRead, PermAssociationsRead, PermStaffRead,
		PermAlarmRead, PermIncidentHandle, PermIncidentAttend, PermPosition,
		PermMatterSubmit, PermMatterRead, PermMatterHandle,
		PermContentRead,
		PermBoardRead, PermBoardPost,
		PermBroadcastRead, PermBroadcastEmergency,
		PermAccessRead,
		PermFootageRequest, PermWarningRequest, PermWarningRead,
	},
	// Grid workers keep the ledger of their grid and visit its homes.
	RoleGridWorker: {
		PermCommunitiesRead, PermGridsRead, PermBuildingsRead, PermHomesRead,
		PermPeopleRead, PermPeopleWrite, PermPeoplePII, PermDevicesRead, PermAssociationsRead, PermStaffRead,
		PermAlarmRead, PermIncidentAttend, PermPosition,
		PermMatterSubmit, PermMatterRead, PermMatterHandle,
		PermContentRead, PermContentWrite, PermContentTrack,
		PermBoardRead, PermBoardPost,
		PermAccessRead, PermAccessManage,
		PermWarningRead,
	},
	RoleBuildingHead: {
		PermCommunitiesRead, PermGridsRead, PermBuildingsRead, PermHomesRead, PermPeopleRead,
		PermAssociationsRead, PermIncidentAttend, PermPosition,
		PermContentRead, PermContentTrack,
		PermBoardRead, PermBoardPost,
	},
	RoleAssociationMember: {
		PermCommunitiesRead, PermGridsRead, PermBuildingsRead, PermPeopleRead, PermAssociationsRead,
		PermMatterRead,
		PermContentRead,
		PermBoardRead, PermBoardPost,
		PermLedgerRead, PermLedgerWrite, PermFollowUp, PermIntakeSubmit, PermIntakeHandle,
		PermCaseRead, PermCaseWrite, PermAssistanceRead, PermAssistanceWrite, PermStatsRead,
	},
	RoleAssociationChair: {
		PermCommunitiesRead, PermGridsRead, PermBuildingsRead, PermPeopleRead, PermAssociationsRead,
		PermStaffRead, PermMatterRead, PermMatterHandle,
		PermContentRead,
		PermBoardRead, PermBoardPost,
		PermLedgerRead, PermLedgerWrite, PermFollowUp, PermIntakeSubmit, PermIntakeHandle,
		PermCaseRead, PermCaseWrite, PermAssistanceRead, PermAssistanceWrite, PermStatsRead,
	},
	// A partner organisation sees only what a live ledger sharing grant
	// shares with it, records its follow-ups there and posts job openings.
	RolePartner: {PermCommunitiesRead, PermLedgerRead, PermFollowUp, PermOpeningsWrite},
	// The community police officer receives alarms and requests footage.
	RolePolice: {
		PermCommunitiesRead, PermGridsRead, PermBuildingsRead, PermHomesRead,
		PermPeopleRead, PermPeoplePII, PermDevicesRead, PermStaffRead, PermAlarmRead,
		PermContentRead,
		PermBoardRead, PermBoardPost,
		PermFootageRequest, PermWarningRequest, PermWarningRead,
	},
	// Broadcast managers write what the loudspeakers say (policy notices,
	// police alerts, good deeds, reminders); the same items go out as
	// notices, so they write notices, guides and policies too.
	RoleBroadcastManager: {
		PermCommunitiesRead, PermGridsRead, PermBuildingsRead, PermDevicesRead,
		PermContentRead, PermContentWrite,
		PermBoardRead, PermBoardPost,
		PermBroadcastRead, PermBroadcastWrite, PermBroadcastEmergency, PermBroadcastDedicate,
	},
	// A resident reaches only their own household (see Actor.Scope).
	RoleResident: {
		PermCommunitiesRead, PermGridsRead, PermBuildingsRead, PermHomesRead,
		PermPeopleRead, PermPeoplePII, PermAssociationsRead, PermAlarmRead, PermAlarmArm, PermSOS,
		PermMatterSubmit, PermMatterRead, PermMatterOwn,
		PermContentRead, PermContentConfirm,
		PermBoardRead, PermBoardPost,
		PermIntakeSubmit,
		PermBroadcastDedicate,
		PermAccessRead, PermAccessOwn,
		PermPrivacyOwn,
		PermWarningRead,
	},
}

// PermissionsOf returns what role r may do.
func PermissionsOf(r Role) []Permission { return rolePermissions[r] }

// Reach is one part of the deployment an actor may reach: a whole
// community, one grid of it, or one household. CommunityID 0 reaches every
// community.
type Reach struct {
	CommunityID int64
	GridID      int64
	HouseholdID int64
}

// Scope is the union of reaches; an empty scope reaches nothing.
type Scope []Reach

// All reports whether the scope reaches every community.
func (s Scope) All() bool {
	for _, r := range s {
		if r.CommunityID == 0 {
			return true
		}
	}
	return false
}

// Communities returns the communities the scope touches, nil when it
// reaches all of them.
func (s Scope) Communities() []int64 {
	if s.All() {
		return nil
	}
	var out []int64
	for _, r := range s {
		if !containsID(out, r.CommunityID) {
			out = append(out, r.CommunityID)
		}
	}
	return out
}

// WholeCommunity reports whether the scope reaches all of community c, not
// just part of it.
func (s Scope) WholeCommunity(c int64) bool {
	for _, r := range s {
		if r.CommunityID == 0 || (r.CommunityID == c && r.GridID == 0 && r.HouseholdID == 0) {
			return true
		}
	}
	return false
}

// Restrict returns the part of s inside community c; c 0 leaves s as is.
func (s Scope) Restrict(c int64) Scope {
	if c == 0 {
		return s
	}
	var out Scope
	for _, r := range s {
		switch {
		case r.CommunityID == 0:
			out = append(out, Reach{CommunityID: c})
		case r.CommunityID == c:
			out = append(out, r)
		}
	}
	return out
}

func containsID(ids []int64, id int64) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// Widen returns the scope with grid and household narrowing dropped: the
// whole of each community touched. Community-wide reference data (matter
// categories, for one) is shown to anyone who works in a part of it.
func (s Scope) Widen() Scope {
	var out Scope
	for _, r := range s {
		out = append(out, Reach{CommunityID: r.CommunityID})
	}
	return out
}

// Can reports whether the actor holds p anywhere.
func (a *Actor) Can(p Permission) bool { return len(a.Scope(p)) > 0 }

// Scope returns where the actor may use p. A resident's grant reaches only
// their household; a grid worker's or building head's grant with a grid
// reaches that grid.
func (a *Actor) Scope(p Permission) Scope {
	if a == nil {
		return nil
	}
	var s Scope
	for _, g := range a.User.Grants {
		if !hasPermission(g.Role, p) {
			continue
		}
		r := Reach{CommunityID: g.CommunityID, GridID: g.GridID}
		if g.Role == RoleResident {
			if a.HouseholdID == 0 || g.CommunityID == 0 {
				continue // a resident who lives nowhere reaches nothing
			}
			r = Reach{CommunityID: g.CommunityID, HouseholdID: a.HouseholdID}
		} else if g.CommunityID == 0 && g.Role != RoleAdmin {
			continue // only admins may be granted the whole deployment
		}
		s = append(s, r)
	}
	return s
}

func hasPermission(r Role, p Permission) bool {
	for _, q := range rolePermissions[r] {
		if q == p {
			return true
		}
	}
	return false
}
