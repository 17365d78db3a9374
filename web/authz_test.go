package web

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/sqlstore"
)

// Who may call what. Each API route must have a line here: a new route
// without one fails TestEveryRouteHasARule, so nobody adds an endpoint
// without deciding who may use it. "public" needs no sign-in; "signed-in"
// needs any session; otherwise the roles allowed are listed.
var rules = map[string]string{
	"POST /api/v1/auth/login":      "public",
	"POST /api/v1/notify/receipts": "public",
	"POST /api/v1/auth/logout":     "signed-in",
	"GET /api/v1/auth/me":          "signed-in",

	"GET /api/v1/communities":      "admin operator grid_worker building_head association_member association_chair partner police broadcast_manager resident",
	"GET /api/v1/communities/{id}": "admin operator grid_worker building_head association_member association_chair partner police broadcast_manager resident",
	"POST /api/v1/communities":     "admin",
	"PUT /api/v1/communities/{id}": "admin",

	"GET /api/v1/grids":         "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"GET /api/v1/grids/{id}":    "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"POST /api/v1/grids":        "admin",
	"PUT /api/v1/grids/{id}":    "admin",
	"DELETE /api/v1/grids/{id}": "admin",

	"GET /api/v1/buildings":         "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"GET /api/v1/buildings/{id}":    "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"POST /api/v1/buildings":        "admin",
	"PUT /api/v1/buildings/{id}":    "admin",
	"DELETE /api/v1/buildings/{id}": "admin",

	"GET /api/v1/homes":         "admin operator grid_worker building_head police resident",
	"GET /api/v1/homes/{id}":    "admin operator grid_worker building_head police resident",
	"POST /api/v1/homes":        "admin",
	"PUT /api/v1/homes/{id}":    "admin",
	"DELETE /api/v1/homes/{id}": "admin",
	"GET /api/v1/households":    "admin operator grid_worker building_head police resident",
	"POST /api/v1/households":   "admin",

	"GET /api/v1/people":         "admin operator grid_worker building_head association_member association_chair police resident",
	"GET /api/v1/people/{id}":    "admin operator grid_worker building_head association_member association_chair police resident",
	"POST /api/v1/people":        "admin grid_worker",
	"PUT /api/v1/people/{id}":    "admin grid_worker",
	"DELETE /api/v1/people/{id}": "admin grid_worker",

	"GET /api/v1/devices":         "admin operator grid_worker police broadcast_manager",
	"GET /api/v1/devices/{id}":    "admin operator grid_worker police broadcast_manager",
	"POST /api/v1/devices":        "admin",
	"PUT /api/v1/devices/{id}":    "admin",
	"DELETE /api/v1/devices/{id}": "admin",
	"GET /api/v1/devices/health":  "admin operator grid_worker police broadcast_manager",

	"GET /api/v1/associations": "admin operator grid_worker building_head association_member association_chair resident",

	"GET /api/v1/access/doors":                     "admin operator grid_worker resident",
	"POST /api/v1/access/doors":                    "admin grid_worker",
	"PUT /api/v1/access/doors/{id}":                "admin grid_worker",
	"GET /api/v1/access/credentials":               "admin operator grid_worker resident",
	"POST /api/v1/access/credentials":              "admin grid_worker",
	"DELETE /api/v1/access/credentials/{id}":       "admin grid_worker",
	"POST /api/v1/access/credentials/{id}/lost":    "resident",
	"POST /api/v1/access/phone-key":                "resident",
	"GET /api/v1/access/passes":                    "admin operator grid_worker resident",
	"POST /api/v1/access/passes":                   "resident",
	"DELETE /api/v1/access/passes/{id}":            "resident",
	"GET /api/v1/access/passes/{id}/qr.png":        "admin operator grid_worker resident",
	"POST /api/v1/access/decide":                   "admin",
	"GET /api/v1/access/log":                       "admin operator grid_worker resident",
	"GET /api/v1/access/public-key":                "public",
	"POST /api/v1/households/{id}/move-out":        "admin grid_worker",
	"POST /api/v1/access/webhook":                  "public",
	"GET /api/v1/people/{id}/welfare-watch":        "admin operator grid_worker resident",
	"PUT /api/v1/people/{id}/welfare-watch":        "admin grid_worker",
	"DELETE /api/v1/people/{id}/welfare-watch":     "resident",
	"GET /api/v1/cameras":                          "admin operator grid_worker police broadcast_manager",
	"GET /api/v1/cameras/{id}":                     "admin operator grid_worker police broadcast_manager",
	"PUT /api/v1/cameras/{id}":                     "admin",
	"GET /api/v1/incidents/{id}/snapshots/{photo}": "admin operator grid_worker police resident",
	"GET /api/v1/footage-requests":                 "admin operator police",
	"POST /api/v1/footage-requests":                "admin operator police",
	"GET /api/v1/footage-requests/{id}":            "admin operator police",
	"POST /api/v1/footage-requests/{id}/approve":   "admin",
	"POST /api/v1/footage-requests/{id}/refuse":    "admin",
	"GET /api/v1/footage-requests/{id}/custody":    "admin operator police",
	"POST /api/v1/footage-requests/{id}/share":     "admin operator police",
	"POST /api/v1/footage-requests/{id}/release":   "admin",
	"GET /api/v1/footage-requests/{id}/package":    "admin operator police",
	"GET /api/v1/warnings":                         "admin operator grid_worker police resident",
	"GET /api/v1/warnings/{id}":                    "admin operator grid_worker police resident",
	"POST /api/v1/warnings":                        "admin operator police",
	"POST /api/v1/warnings/{id}/photo":             "admin operator police",
	"GET /api/v1/warnings/{id}/photo":              "admin operator grid_worker police resident",
	"POST /api/v1/warnings/{id}/approve":           "admin",
	"POST /api/v1/warnings/{id}/refuse":            "admin",
	"POST /api/v1/warnings/{id}/withdraw":          "admin",

	"GET /api/v1/users":               "admin",
	"GET /api/v1/staff":               "admin operator grid_worker association_chair police",
	"POST /api/v1/users":              "admin",
	"POST /api/v1/users/{id}/grants":  "admin",
	"DELETE /api/v1/user-grants/{id}": "admin",
	"GET /api/v1/audit":               "admin",
	"GET /api/v1/jobs":                "admin",
	"POST /api/v1/jobs/{id}/retry":    "admin",

	"POST /api/v1/alarm/panels":                 "admin",
	"GET /api/v1/alarm/panels":                  "admin operator grid_worker police resident",
	"POST /api/v1/alarm/sensors":                "admin",
	"GET /api/v1/alarm/sensors":                 "admin operator grid_worker police resident",
	"GET /api/v1/alarm/events":                  "admin operator grid_worker police resident",
	"GET /api/v1/incidents":                     "admin operator grid_worker police resident",
	"GET /api/v1/incidents/{id}":                "admin operator grid_worker police resident",
	"GET /api/v1/incidents/{id}/devices":        "admin operator grid_worker police resident",
	"POST /api/v1/incidents/{id}/ack":           "admin operator",
	"GET /api/v1/incidents/{id}/candidates":     "admin operator",
	"GET /api/v1/incidents/stats":               "admin operator",
	"POST /api/v1/incidents/{id}/dispatch":      "admin operator",
	"POST /api/v1/incidents/{id}/resolve":       "admin operator",
	"POST /api/v1/incidents/{id}/accept":        "admin operator grid_worker building_head",
	"POST /api/v1/incidents/{id}/arrive":        "admin operator grid_worker building_head",
	"POST /api/v1/incidents/{id}/report":        "admin operator grid_worker building_head",
	"GET /api/v1/incidents/{id}/photos/{photo}": "admin operator grid_worker building_head",
	"GET /api/v1/staff/me/dispatches":           "admin operator grid_worker building_head",
	"GET /api/v1/homes/{id}/alarm":              "admin operator grid_worker police resident",
	"POST /api/v1/homes/{id}/alarm/arm":         "admin resident",
	"POST /api/v1/homes/{id}/alarm/disarm":      "admin resident",
	"GET /api/v1/homes/{id}/alarm/rules":        "admin resident",
	"PUT /api/v1/homes/{id}/alarm/rules":        "admin resident",
	"POST /api/v1/homes/{id}/alarm/presence":    "admin resident",
	"POST /api/v1/sos":                          "resident",
	"POST /api/v1/staff/me/position":            "admin operator grid_worker building_head",
	"GET /api/v1/matter-categories":             "admin operator grid_worker building_head association_member association_chair partner police broadcast_manager resident",
	"POST /api/v1/matter-categories":            "admin",
	"POST /api/v1/matters":                      "admin operator grid_worker resident",
	"GET /api/v1/matters":                       "admin operator grid_worker association_member association_chair resident",
	"GET /api/v1/matters/{id}":                  "admin operator grid_worker association_member association_chair resident",
	"POST /api/v1/matters/{id}/photos":          "admin operator grid_worker association_member association_chair resident",
	"GET /api/v1/matters/{id}/photos/{photo}":   "admin operator grid_worker association_member association_chair resident",
	"POST /api/v1/matters/{id}/accept":          "admin operator grid_worker association_chair",
	"POST /api/v1/matters/{id}/assign":          "admin operator grid_worker association_chair",
	"POST /api/v1/matters/{id}/start":           "admin operator grid_worker association_chair",
	"POST /api/v1/matters/{id}/resolve":         "admin operator grid_worker association_chair",
	"POST /api/v1/matters/{id}/reject":          "admin operator grid_worker association_chair",
	"POST /api/v1/matters/{id}/return":          "admin operator grid_worker association_chair",
	"POST /api/v1/matters/{id}/resubmit":        "resident",
	"POST /api/v1/matters/{id}/rate":            "resident",
	"POST /api/v1/matters/{id}/reopen":          "resident",
	"POST /api/v1/matters/{id}/comment":         "admin operator grid_worker association_chair resident",
	"POST /api/v1/matters/{id}/close":           "admin operator grid_worker association_chair resident",
	"GET /api/v1/lostfound":                     "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"GET /api/v1/lostfound/{id}":                "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"POST /api/v1/lostfound":                    "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"POST /api/v1/lostfound/{id}/replies":       "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"POST /api/v1/lostfound/{id}/resolve":       "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"DELETE /api/v1/lostfound/{id}":             "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"POST /api/v1/lostfound/{id}/photos":        "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"GET /api/v1/lostfound/{id}/photos/{photo}": "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"GET /api/v1/events/stream":                 "admin operator grid_worker police resident",

	// Open311 needs no session: reads are public and filing checks its own
	// api_key (web/open311_test.go covers both).
	"POST /api/v1/open311/keys":                              "admin",
	"GET /api/v1/open311/keys":                               "admin",
	"DELETE /api/v1/open311/keys/{id}":                       "admin",
	"GET /open311/discovery.{format}":                        "public",
	"GET /open311/v2/services.{format}":                      "public",
	"GET /open311/v2/services/{service_code}.{format}":       "public",
	"POST /open311/v2/requests.{format}":                     "public",
	"GET /open311/v2/requests.{format}":                      "public",
	"GET /open311/v2/requests/{service_request_id}.{format}": "public",
	"GET /open311/v2/tokens/{token}.{format}":                "public",

	"POST /api/v1/import/{kind}": "admin",
	"GET /api/v1/export/{kind}":  "admin",

	"GET /api/v1/notices":                          "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"GET /api/v1/notices/{id}":                     "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"POST /api/v1/notices":                         "admin grid_worker broadcast_manager",
	"PUT /api/v1/notices/{id}":                     "admin grid_worker broadcast_manager",
	"DELETE /api/v1/notices/{id}":                  "admin grid_worker broadcast_manager",
	"POST /api/v1/notices/{id}/confirm":            "resident",
	"GET /api/v1/notices/{id}/unconfirmed":         "admin grid_worker building_head",
	"POST /api/v1/notices/{id}/attachments":        "admin grid_worker broadcast_manager",
	"GET /api/v1/notices/{id}/attachments/{n}":     "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"DELETE /api/v1/notices/{id}/attachments/{n}":  "admin grid_worker broadcast_manager",
	"GET /api/v1/guides":                           "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"GET /api/v1/guides/{id}":                      "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"POST /api/v1/guides":                          "admin grid_worker broadcast_manager",
	"PUT /api/v1/guides/{id}":                      "admin grid_worker broadcast_manager",
	"DELETE /api/v1/guides/{id}":                   "admin grid_worker broadcast_manager",
	"POST /api/v1/guides/{id}/attachments":         "admin grid_worker broadcast_manager",
	"GET /api/v1/guides/{id}/attachments/{n}":      "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"DELETE /api/v1/guides/{id}/attachments/{n}":   "admin grid_worker broadcast_manager",
	"GET /api/v1/policies":                         "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"GET /api/v1/policies/{id}":                    "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"POST /api/v1/policies":                        "admin grid_worker broadcast_manager",
	"PUT /api/v1/policies/{id}":                    "admin grid_worker broadcast_manager",
	"DELETE /api/v1/policies/{id}":                 "admin grid_worker broadcast_manager",
	"POST /api/v1/policies/{id}/attachments":       "admin grid_worker broadcast_manager",
	"GET /api/v1/policies/{id}/attachments/{n}":    "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",
	"DELETE /api/v1/policies/{id}/attachments/{n}": "admin grid_worker broadcast_manager",
	"GET /api/v1/search":                           "admin operator grid_worker building_head association_member association_chair police broadcast_manager resident",

	// The associations' work (web/assoc_test.go): what a ledger route
	// reaches is narrowed by the grant: partners only through live sharing
	// grants, association roles their association's ledgers.
	"POST /api/v1/associations":                          "admin",
	"PUT /api/v1/associations/{id}":                      "admin",
	"GET /api/v1/partners":                               "admin operator grid_worker building_head association_member association_chair resident",
	"POST /api/v1/partners":                              "admin",
	"POST /api/v1/associations/{id}/intake":              "admin association_member association_chair resident",
	"GET /api/v1/intakes":                                "admin association_member association_chair resident",
	"PUT /api/v1/intakes/{id}":                           "admin association_member association_chair",
	"GET /api/v1/ledgers":                                "admin association_member association_chair partner",
	"POST /api/v1/ledgers":                               "admin",
	"GET /api/v1/ledgers/{type}":                         "admin association_member association_chair partner",
	"POST /api/v1/ledgers/{type}/fields":                 "admin",
	"GET /api/v1/ledgers/{type}/entries":                 "admin association_member association_chair partner",
	"POST /api/v1/ledgers/{type}/entries":                "admin association_member association_chair",
	"GET /api/v1/ledgers/{type}/entries/{id}":            "admin association_member association_chair partner",
	"PUT /api/v1/ledgers/{type}/entries/{id}":            "admin association_member association_chair",
	"GET /api/v1/ledgers/{type}/entries/{id}/history":    "admin association_member association_chair partner",
	"POST /api/v1/ledgers/{type}/entries/{id}/consent":   "admin association_member association_chair",
	"POST /api/v1/ledgers/{type}/entries/{id}/followups": "admin association_member association_chair partner",
	"GET /api/v1/ledgers/{type}/entries/{id}/followups":  "admin association_member association_chair partner",
	"GET /api/v1/grants":                                 "admin",
	"POST /api/v1/grants":                                "admin",
	"DELETE /api/v1/grants/{id}":                         "admin",
	"GET /api/v1/openings":                               "admin association_member association_chair partner",
	"GET /api/v1/openings/{id}":                          "admin association_member association_chair partner",
	"POST /api/v1/openings":                              "admin partner",
	"PUT /api/v1/openings/{id}":                          "admin partner",
	"GET /api/v1/openings/{id}/candidates":               "admin association_member association_chair partner",
	"GET /api/v1/stats/placements":                       "admin association_member association_chair partner",

	// Services and their statistics (web/cases_test.go): association roles
	// reach their association's, administrators their community's.
	"POST /api/v1/cases":              "admin association_member association_chair",
	"GET /api/v1/cases":               "admin association_member association_chair",
	"GET /api/v1/cases/{id}":          "admin association_member association_chair",
	"PUT /api/v1/cases/{id}":          "admin association_member association_chair",
	"POST /api/v1/cases/{id}/actions": "admin association_member association_chair",
	"POST /api/v1/cases/{id}/close":   "admin association_member association_chair",
	"POST /api/v1/cases/{id}/reopen":  "admin association_member association_chair",
	"GET /api/v1/stats/associations":  "admin association_member association_chair",

	"GET /api/v1/mediations":                            "admin association_member association_chair",
	"POST /api/v1/mediations":                           "admin association_member association_chair",
	"GET /api/v1/mediations/{id}":                       "admin association_member association_chair",
	"POST /api/v1/mediations/{id}/parties":              "admin association_member association_chair",
	"POST /api/v1/mediations/{id}/sessions":             "admin association_member association_chair",
	"POST /api/v1/mediations/{id}/outcome":              "admin association_member association_chair",
	"POST /api/v1/mediations/{id}/followups":            "admin association_member association_chair",
	"GET /api/v1/assistance/policies":                   "admin association_member association_chair",
	"POST /api/v1/assistance/policies":                  "admin",
	"GET /api/v1/assistance/policies/{id}":              "admin association_member association_chair",
	"PUT /api/v1/assistance/policies/{id}":              "admin",
	"GET /api/v1/assistance/policies/{id}/eligible":     "admin association_member association_chair",
	"GET /api/v1/assistance/applications":               "admin association_member association_chair",
	"POST /api/v1/assistance/applications":              "admin association_member association_chair",
	"POST /api/v1/assistance/applications/{id}/outcome": "admin association_member association_chair",

	"GET /api/v1/broadcast/zones":                     "admin operator broadcast_manager",
	"POST /api/v1/broadcast/zones":                    "admin broadcast_manager",
	"GET /api/v1/broadcast/slots":                     "admin operator broadcast_manager",
	"POST /api/v1/broadcast/slots":                    "admin broadcast_manager",
	"GET /api/v1/broadcast/slots/{id}/rundown":        "admin operator broadcast_manager",
	"PUT /api/v1/broadcast/slots/{id}/rundown":        "admin broadcast_manager",
	"GET /api/v1/broadcast/library":                   "admin operator broadcast_manager",
	"POST /api/v1/broadcast/library":                  "admin broadcast_manager",
	"GET /api/v1/broadcast/library/{id}/audio":        "admin operator broadcast_manager",
	"GET /api/v1/broadcast/asrun":                     "admin operator broadcast_manager",
	"POST /api/v1/broadcast/emergency":                "admin operator broadcast_manager",
	"GET /api/v1/broadcast/dedications":               "admin broadcast_manager resident",
	"POST /api/v1/broadcast/dedications":              "admin broadcast_manager resident",
	"POST /api/v1/broadcast/dedications/{id}/approve": "admin broadcast_manager",
	"POST /api/v1/broadcast/dedications/{id}/reject":  "admin broadcast_manager",
	"PUT /api/v1/broadcast/zones/{id}":                "admin broadcast_manager",
	"DELETE /api/v1/broadcast/zones/{id}":             "admin broadcast_manager",
	"PUT /api/v1/broadcast/slots/{id}":                "admin broadcast_manager",
	"DELETE /api/v1/broadcast/slots/{id}":             "admin broadcast_manager",
	// Personal data: the store lets the resident themselves or an office
	// worker with privacy.assist reach a person (TestPrivacyPagesAndAPI).
	"GET /api/v1/people/{id}/personal-data":             "signed-in",
	"GET /api/v1/people/{id}/privacy-requests":          "signed-in",
	"POST /api/v1/people/{id}/consents/withdraw":        "signed-in",
	"POST /api/v1/people/{id}/erasure-requests":         "signed-in",
	"GET /api/v1/privacy/erasure-requests":              "admin",
	"POST /api/v1/privacy/erasure-requests/{id}/decide": "admin",
	"GET /api/v1/retention":                             "admin",
	"PUT /api/v1/retention/{kind}":                      "admin",
}

// roleUsers names an account holding each role in the demo community.
var roleUsers = map[auth.Role]string{
	auth.RoleAdmin:             "director",
	auth.RoleOperator:          "operator",
	auth.RoleGridWorker:        "grid01",
	auth.RoleBuildingHead:      "head01",
	auth.RoleAssociationMember: "member01",
	auth.RoleAssociationChair:  "assoc-jiuye",
	auth.RolePartner:           "hr-partner",
	auth.RolePolice:            "police",
	auth.RoleBroadcastManager:  "broadcaster",
	auth.RoleResident:          "resident01",
}

func TestEveryRouteHasARule(t *testing.T) {
	srv := New(Config{Store: nil})
	for _, r := range srv.Routes() {
		key := r.Method + " " + r.Path
		rule, ok := rules[key]
		if !ok {
			t.Errorf("route %s has no line in rules: decide who may call it", key)
			continue
		}
		switch {
		case rule == "public" && !r.Public, rule == "signed-in" && !r.SignedIn:
			t.Errorf("route %s: rule says %s, route says otherwise", key, rule)
		case rule != "public" && rule != "signed-in":
			for _, role := range strings.Fields(rule) {
				allowed := slices.Contains(auth.PermissionsOf(auth.Role(role)), r.Permission)
				if !allowed {
					t.Errorf("route %s: rule lets %s in but the role lacks %s", key, role, r.Permission)
				}
			}
		}
	}
	for key := range rules {
		found := false
		for _, r := range srv.Routes() {
			found = found || r.Method+" "+r.Path == key
		}
		if !found {
			t.Errorf("rule %s names no route", key)
		}
	}
}

// expectedAllowed is what a permitted caller gets in the matrix, where every
// id is one that does not exist and every body is empty.
func expectedAllowed(method, path string) int {
	switch {
	case path == "/api/v1/jobs", path == "/api/v1/jobs/{id}/retry":
		// The queue serves the whole deployment; the demo's admin has one
		// community (a deployment-wide admin: TestJobsPageAndAPI).
		return http.StatusForbidden
	case path == "/api/v1/sos":
		return http.StatusCreated // the resident really calls for help
	case strings.HasSuffix(path, "/attachments/{n}"):
		return http.StatusUnprocessableEntity // "{n}" is not a number
	case path == "/api/v1/notices/{id}/confirm", path == "/api/v1/people/{id}/erasure-requests":
		return http.StatusNotFound // it has no body, or an optional one
	case path == "/api/v1/matters/{id}/photos", path == "/api/v1/lostfound/{id}/photos":
		return http.StatusUnprocessableEntity // "{}" is not a photo
	case path == "/api/v1/homes/{id}/alarm/disarm", path == "/api/v1/lostfound/{id}/resolve", strings.HasPrefix(path, "/api/v1/incidents/{id}/"), strings.HasPrefix(path, "/api/v1/matters/{id}/"):
		return http.StatusNotFound // their bodies are optional
	case path == "/api/v1/cameras/{id}", path == "/api/v1/footage-requests/{id}/approve", path == "/api/v1/warnings/{id}/approve":
		return http.StatusNotFound // their bodies are optional
	case strings.HasSuffix(path, "/stream"):
		return http.StatusOK
	case path == "/api/v1/auth/logout":
		return http.StatusNoContent
	case method == http.MethodPost && path == "/api/v1/access/passes":
		return http.StatusCreated // every field has a default: a pass in three taps
	case path == "/api/v1/access/phone-key":
		return http.StatusOK
	case path == "/api/v1/access/public-key":
		return http.StatusUnprocessableEntity // which community's
	case path == "/api/v1/access/webhook":
		return http.StatusForbidden // no secret configured, no signature
	case path == "/api/v1/access/credentials/{id}/lost", path == "/api/v1/households/{id}/move-out":
		return http.StatusNotFound // they take no body
	case method == http.MethodGet && strings.Contains(path, "{type}"):
		return http.StatusNotFound // "{type}" names no ledger
	case method == http.MethodGet && strings.Contains(path, "{id}"):
		return http.StatusNotFound
	case method == http.MethodGet:
		return http.StatusOK
	case method == http.MethodDelete:
		return http.StatusNotFound
	default:
		return http.StatusUnprocessableEntity
	}
}

// TestRoleMatrix calls every route as every role and as nobody, and checks
// the status the rules table implies.
func TestRoleMatrix(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	env.addRoleUsers()
	for _, r := range env.server.Routes() {
		key := r.Method + " " + r.Path
		rule := rules[key]
		if strings.HasPrefix(r.Path, "/open311/") {
			continue // Open311 answers in its own format, not problems: TestOpen311Errors
		}
		path := strings.NewReplacer("{id}", "999999", "{kind}", "homes", "{photo}", "999999").Replace(r.Path)
		var body any
		if r.Method == http.MethodPost || r.Method == http.MethodPut {
			body = map[string]any{}
		}
		if !r.Public {
			if got, code := env.problemCode("", r.Method, path, body); got != http.StatusUnauthorized || code != "unauthorized" {
				t.Errorf("%s anonymous: got %d %q, want 401 unauthorized", key, got, code)
			}
		}
		for _, role := range auth.Roles {
			user := roleUsers[role]
			want := http.StatusForbidden
			if rule == "public" || rule == "signed-in" || slices.Contains(strings.Fields(rule), string(role)) {
				want = expectedAllowed(r.Method, r.Path)
			}
			if r.Path == "/api/v1/auth/logout" {
				delete(env.tokens, user) // logging out ends the token: sign in afresh
			}
			var got int
			if strings.HasSuffix(r.Path, "/stream") {
				got = env.streamStatus(user, path)
			} else {
				got, _ = env.problemCode(user, r.Method, path, body)
			}
			if r.Path == "/api/v1/auth/logout" {
				delete(env.tokens, user)
			}
			if got != want {
				t.Errorf("%s as %s (%s): got %d, want %d", key, role, user, got, want)
			}
		}
	}
}

// addRoleUsers adds the roles the demo has no account for.
func (e *testEnv) addRoleUsers() {
	e.t.Helper()
	ctx := e.t.Context()
	everywhere := auth.Scope{{}}
	grid := e.grid1()
	for _, u := range []*auth.User{
		{Username: "head01", Grants: []auth.Grant{{Role: auth.RoleBuildingHead, CommunityID: e.demo.CommunityID, GridID: grid}}},
		{Username: "member01", Grants: []auth.Grant{{Role: auth.RoleAssociationMember, CommunityID: e.demo.CommunityID}}},
	} {
		if err := e.store.CreateUser(ctx, everywhere, u, demoPassword); err != nil {
			e.t.Fatalf("create %s: %v", u.Username, err)
		}
	}
}

// grid1 returns the id of the demo's first grid.
func (e *testEnv) grid1() int64 {
	e.t.Helper()
	u, err := e.store.UserByName(e.t.Context(), "grid01")
	if err != nil {
		e.t.Fatal(err)
	}
	return u.Grants[0].GridID
}
