package assoc

import (
	"testing"
	"time"

	"github.com/shequ/shequ"
)

func TestMediationStateMachine(t *testing.T) {
	steps := []string{StepAddParty, StepAddSession, MediationAgreed, MediationFailed, MediationWithdrawn, StepFollowUp, StepFollowUpClose}
	// want[state][step]: the next state, or "" for a conflict.
	want := map[string]map[string]string{
		MediationOpen: {StepAddParty: MediationOpen, StepAddSession: MediationInSession, MediationWithdrawn: MediationWithdrawn},
		MediationInSession: {StepAddParty: MediationInSession, StepAddSession: MediationInSession,
			MediationAgreed: MediationAgreed, MediationFailed: MediationFailed, MediationWithdrawn: MediationWithdrawn},
		MediationAgreed:     {StepFollowUp: MediationFollowedUp, StepFollowUpClose: MediationClosed},
		MediationFailed:     {StepFollowUp: MediationFailed, StepFollowUpClose: MediationClosed},
		MediationWithdrawn:  {StepFollowUp: MediationWithdrawn, StepFollowUpClose: MediationClosed},
		MediationFollowedUp: {StepFollowUp: MediationFollowedUp, StepFollowUpClose: MediationClosed},
		MediationClosed:     {},
	}
	for _, state := range MediationStatuses {
		for _, step := range steps {
			next, err := Next(state, step)
			w := want[state][step]
			switch {
			case w == "" && shequ.ErrorCode(err) != shequ.ECONFLICT:
				t.Errorf("%s + %s: got %s, %v; want a conflict", state, step, next, err)
			case w == "" && next != state:
				t.Errorf("%s + %s: a conflict moved the state to %s", state, step, next)
			case w != "" && (err != nil || next != w):
				t.Errorf("%s + %s: got %s, %v; want %s", state, step, next, err, w)
			}
		}
	}
	if _, err := Next(MediationOpen, "dance"); shequ.ErrorCode(err) != shequ.EINVALID {
		t.Errorf("an unknown step: %v", err)
	}
}

func TestMediationParts(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	parties := []MediationParty{{ID: 1}, {ID: 2}}
	for _, tc := range []struct {
		name  string
		err   error
		field string
	}{
		{"no subject", (&Mediation{AssociationID: 1}).Validate(), "subject"},
		{"no association", (&Mediation{Subject: "x"}).Validate(), "association_id"},
		{"party with neither", (&MediationParty{Side: "owners"}).Validate(), "person_id"},
		{"party with both", (&MediationParty{PersonID: 1, Organisation: "物业", Side: "owners"}).Validate(), "organisation"},
		{"party without side", (&MediationParty{PersonID: 1}).Validate(), "side"},
		{"representative of nobody", (&MediationParty{PersonID: 1, Side: "owners", Representative: true}).Validate(), "represents"},
		{"represents without being one", (&MediationParty{PersonID: 1, Side: "owners", Represents: 3}).Validate(), "represents"},
		{"session in the future", (&MediationSession{HeldAt: now.Add(48 * time.Hour), Place: "x", Attendees: []int64{1}}).Validate(parties, now), "held_at"},
		{"session with a stranger", (&MediationSession{HeldAt: now, Place: "x", Attendees: []int64{3}}).Validate(parties, now), "attendees"},
		{"session with nobody", (&MediationSession{HeldAt: now, Place: "x"}).Validate(parties, now), "attendees"},
		{"agreed without text", (&MediationResult{Outcome: MediationAgreed}).Validate(), "agreement"},
		{"failed without why", (&MediationResult{Outcome: MediationFailed}).Validate(), "note"},
		{"failed with an agreement", (&MediationResult{Outcome: MediationFailed, Note: "x", Agreement: "y"}).Validate(), "agreement"},
		{"unknown outcome", (&MediationResult{Outcome: "maybe"}).Validate(), "outcome"},
		{"check without question", (&MediationCheck{}).Validate("2026-11-28"), "question"},
		{"check tomorrow", (&MediationCheck{Question: "x", CheckedOn: "2026-11-29"}).Validate("2026-11-28"), "checked_on"},
		{"check on no day", (&MediationCheck{Question: "x", CheckedOn: "2026-02-30"}).Validate("2026-11-28"), "checked_on"},
	} {
		e, ok := tc.err.(*shequ.Error)
		if !ok || e.Code != shequ.EINVALID || e.Fields[tc.field] == "" {
			t.Errorf("%s: got %v, want a message for %s", tc.name, tc.err, tc.field)
		}
	}
	good := MediationParty{Organisation: " 物业公司 ", Side: "property_company"}
	if err := good.Validate(); err != nil || good.Organisation != "物业公司" {
		t.Errorf("good party: %v %+v", err, good)
	}
	if err := (&MediationSession{HeldAt: now, Place: "会议室", Attendees: []int64{1, 2}}).Validate(parties, now); err != nil {
		t.Errorf("good session: %v", err)
	}
}

func TestMediationCountRate(t *testing.T) {
	var c MediationCount
	if c.AddOutcomes(0, 0, 0); c.SuccessRate != 0 {
		t.Errorf("rate with nothing concluded: %v", c.SuccessRate)
	}
	c.AddOutcomes(2, 1, 1)
	c.AddOutcomes(1, 0, 0)
	if c.Concluded != 5 || c.SuccessRate != 0.6 {
		t.Errorf("%+v", c)
	}
}
