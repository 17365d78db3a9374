package web

import (
	"context"
	"net/http"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
)

// The resident's auto-arm page: switch "arm when the family has left" on
// or off and a daily arming time; see who in the family reports from
// their phone and whether the system counts them at home; and say from
// this phone "I am going out" or "I am home". Only the going and coming
// are sent, never where the phone is: pressing the button is the consent.

// presenceStore is what the auto-arm page needs beyond the alarm store.
type presenceStore interface {
	HomePresence(ctx context.Context, scope auth.Scope, home int64) ([]alarm.Presence, error)
}

func (s *Server) registerAutoArmPages() {
	s.pageRoute("GET /my/autoarm", "/my/autoarm", auth.PermSOS, s.autoArmPage)
	s.formRoute("POST /my/autoarm", "/my/autoarm", auth.PermSOS, 16<<10, s.autoArmSubmit)
	s.formRoute("POST /my/autoarm/presence", "/my/autoarm", auth.PermSOS, 16<<10, s.presenceSubmit)
}

type presenceRow struct {
	Name, At string
	Present  bool
	Me       bool
}

type autoArmBody struct {
	Rules  alarm.ArmRules
	People []presenceRow
	// Me is how the system counts this resident: home, out, or ""
	// before they first reported.
	Me      string
	Done    string
	Error   string
	ArmWord string
}

func (b *autoArmBody) Messages() formMessages { return formMessages{Done: b.Done, Error: b.Error} }

func (s *Server) autoArmPage(r *http.Request, p *pageData) (string, error) {
	return s.autoArmView(r, p, "")
}

func (s *Server) autoArmView(r *http.Request, p *pageData, problem string) (string, error) {
	ctx, a := r.Context(), p.Actor
	home, err := s.residentHome(ctx, a)
	if err != nil {
		return "", err
	}
	sc := a.Scope(auth.PermAlarmArm)
	b := &autoArmBody{Done: doneWord(r, p, "autoarm.done."), Error: problem}
	if b.Rules, err = s.store.ArmRules(ctx, sc, home); err != nil {
		return "", err
	}
	st, err := s.store.ArmState(ctx, sc, home)
	if err != nil {
		return "", err
	}
	if st.State == "" {
		st.State = alarm.Disarmed
	}
	b.ArmWord = p.L.T("myalarm.state." + string(st.State))
	ps, err := s.store.HomePresence(ctx, sc, home)
	if err != nil {
		return "", err
	}
	for _, x := range ps {
		row := presenceRow{Name: x.Name, At: p.Date(x.At), Present: x.Present, Me: x.UserID == a.User.ID}
		if row.Me {
			b.Me = "out"
			if x.Present {
				b.Me = "home"
			}
		}
		b.People = append(b.People, row)
	}
	p.Title = p.L.T("autoarm.title")
	p.Body = b
	return "resident/autoarm", nil
}

// autoArmSubmit sets the home's rules from the form.
func (s *Server) autoArmSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx, a := r.Context(), p.Actor
	home, err := s.residentHome(ctx, a)
	if err != nil {
		return err
	}
	rules := alarm.ArmRules{HomeID: home, ArmOnLeave: r.PostFormValue("arm_on_leave") == "on",
		ArmAt: strings.TrimSpace(r.PostFormValue("arm_at")), Mode: alarm.Mode(r.PostFormValue("mode"))}
	err = s.store.SetArmRules(ctx, a.Scope(auth.PermAlarmArm), &rules)
	if shequ.ErrorCode(err) == shequ.EINVALID {
		view, verr := s.autoArmView(r, p, p.L.T("autoarm.error"))
		if verr != nil {
			return verr
		}
		s.render(w, r, p, view, http.StatusUnprocessableEntity)
		return nil
	}
	if err != nil {
		return err
	}
	s.changed()
	http.Redirect(w, r, "/my/autoarm?done=saved", http.StatusSeeOther)
	return nil
}

// presenceSubmit is this phone saying its resident went out or came home.
func (s *Server) presenceSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx, a := r.Context(), p.Actor
	home, err := s.residentHome(ctx, a)
	if err != nil {
		return err
	}
	var present bool
	switch r.PostFormValue("present") {
	case "true":
		present = true
	case "false":
	default:
		return shequ.Invalid(map[string]string{"present": "say whether you are home"})
	}
	_, armed, err := s.store.ReportPresence(ctx, a.Scope(auth.PermAlarmArm), home, a.User.ID, present)
	if err != nil {
		return err
	}
	s.changed()
	done := "home"
	switch {
	case armed:
		done = "armed"
	case !present:
		done = "left"
	}
	http.Redirect(w, r, "/my/autoarm?done="+done, http.StatusSeeOther)
	return nil
}
