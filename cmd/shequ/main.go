// Command shequ runs the smart-community platform: the server, its
// migrations, the demo data and account administration.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `shequ — smart-community platform

Usage:
  shequ serve   [flags]   run the server (HTTP, API, pages)
  shequ migrate [flags]   apply database migrations and exit
  shequ demo    [flags]   load the demo community into the store and exit
  shequ user    add|passwd|list [flags]   manage accounts
  shequ simulate [flags]  drive simulated panels and sensors at a running server
  shequ simulate doors [flags]  drive simulated door controllers (cards, passes, forced doors, network cuts)
  shequ backup --to DIR|s3://…   take a backup (database, media, sealed key)
  shequ restore FROM --data DIR  check and restore a backup
  shequ key status|rotate|retire the personal-data key and its rotation
  shequ version           print the version
  shequ evidence verify PACKAGE   check a footage package against its manifest and custody log

Run "shequ <command> --help" for the flags of a command. Every flag can
also be set by the environment variable named in its help; a flag given on
the command line wins over the environment.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "shequ:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "serve":
		return serveCmd(ctx, args[1:])
	case "migrate":
		return migrateCmd(ctx, args[1:])
	case "demo":
		return demoCmd(ctx, args[1:])
	case "user":
		return userCmd(ctx, args[1:])
	case "simulate":
		return simulateCmd(ctx, args[1:])
	case "backup":
		return backupCmd(ctx, args[1:])
	case "restore":
		return restoreCmd(ctx, args[1:])
	case "key":
		return keyCmd(ctx, args[1:])
	case "evidence":
		return evidenceCmd(ctx, args[1:])
	case "version", "--version", "-v":
		fmt.Println("shequ", version)
		return nil
	case "help", "--help", "-h":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
