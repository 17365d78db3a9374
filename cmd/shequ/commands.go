package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
)

var errHelp = flag.ErrHelp

func migrateCmd(ctx context.Context, args []string) error {
	var sc storeConfig
	f := newFlags("migrate", "shequ migrate: apply the database migrations and exit.")
	sc.register(f)
	if err := f.Parse(args); err != nil {
		return flagErr(err)
	}
	log := sc.logger()
	st, err := sc.open(ctx, log)
	if err != nil {
		return err
	}
	return st.Close()
}

func demoCmd(ctx context.Context, args []string) error {
	var sc storeConfig
	f := newFlags("demo", "shequ demo: load the demo community into the store (once) and exit.")
	sc.register(f)
	if err := f.Parse(args); err != nil {
		return flagErr(err)
	}
	log := sc.logger()
	st, err := sc.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	return loadDemoData(ctx, st, log)
}

func userCmd(ctx context.Context, args []string) error {
	const about = `shequ user: manage accounts.

  shequ user add --username NAME --role ROLE [--community ID] [--grid ID] [--name "Display Name"]
  shequ user passwd --username NAME        (password from SHEQU_PASSWORD or standard input)
  shequ user list`
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, about)
		return fmt.Errorf("user: say add, passwd or list")
	}
	var sc storeConfig
	var username, role, display string
	var communityID, gridID int64
	f := newFlags("user "+args[0], about)
	sc.register(f)
	f.StringVar(&username, "username", "", "account name")
	f.StringVar(&role, "role", "", "role to grant: "+roleNames())
	f.StringVar(&display, "name", "", "display name")
	f.Int64Var(&communityID, "community", 0, "community of the grant (0: the whole deployment, admin only)")
	f.Int64Var(&gridID, "grid", 0, "grid of the grant, for grid workers and building heads")
	if err := f.Parse(args[1:]); err != nil {
		return flagErr(err)
	}
	log := sc.logger()
	st, err := sc.open(ctx, log)
	if err != nil {
		return err
	}
	defer st.Close()
	everywhere := auth.Scope{{}} // the command line acts for the deployment's owner

	switch args[0] {
	case "add":
		pw, err := readPassword()
		if err != nil {
			return err
		}
		u := &auth.User{Username: username, DisplayName: display}
		if role != "" {
			u.Grants = []auth.Grant{{Role: auth.Role(role), CommunityID: communityID, GridID: gridID}}
		}
		if err := st.CreateUser(ctx, everywhere, u, pw); err != nil {
			return describe(err)
		}
		fmt.Printf("created user %s (id %d)\n", u.Username, u.ID)
	case "passwd":
		pw, err := readPassword()
		if err != nil {
			return err
		}
		if pw == "" {
			return fmt.Errorf("no password given: set SHEQU_PASSWORD or pipe it on standard input")
		}
		if err := st.SetPassword(ctx, username, pw); err != nil {
			return describe(err)
		}
		fmt.Printf("password of %s changed; their sessions were ended\n", username)
	case "list":
		tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tNAME\tROLES")
		for page := 0; ; page++ {
			l, err := st.ListUsers(ctx, everywhere, shequ.Page{Limit: shequ.MaxLimit, Offset: page * shequ.MaxLimit})
			if err != nil {
				return err
			}
			for _, u := range l.Items {
				var roles []string
				for _, g := range u.Grants {
					r := string(g.Role)
					if g.CommunityID != 0 {
						r += fmt.Sprintf("@%d", g.CommunityID)
					}
					if g.GridID != 0 {
						r += fmt.Sprintf("/grid%d", g.GridID)
					}
					roles = append(roles, r)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", u.ID, u.Username, u.DisplayName, strings.Join(roles, " "))
			}
			if (page+1)*shequ.MaxLimit >= l.Total {
				break
			}
		}
		return tw.Flush()
	default:
		return fmt.Errorf("user: unknown action %q (add, passwd, list)", args[0])
	}
	return nil
}

func roleNames() string {
	var s []string
	for _, r := range auth.Roles {
		s = append(s, string(r))
	}
	return strings.Join(s, ", ")
}

// readPassword takes the password from SHEQU_PASSWORD, or the first line
// of standard input when it is not a terminal.
func readPassword() (string, error) {
	if pw := os.Getenv("SHEQU_PASSWORD"); pw != "" {
		return pw, nil
	}
	fi, err := os.Stdin.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice != 0 {
		return "", nil
	}
	var line string
	fmt.Fscanln(os.Stdin, &line)
	return strings.TrimSpace(line), nil
}

// describe makes a store error readable on a terminal.
func describe(err error) error {
	var e *shequ.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		var parts []string
		for k, v := range e.Fields {
			parts = append(parts, k+" "+v)
		}
		return fmt.Errorf("%s: %s", e.Message, strings.Join(parts, "; "))
	}
	return err
}
