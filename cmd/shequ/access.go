package main

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/shequ/shequ/access"
	accessmqtt "github.com/shequ/shequ/access/mqtt"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/sqlstore"
)

// accessConfig is access control's part of the server's configuration.
type accessConfig struct {
	webhookSecret string
	mqtt          string
}

func (c *accessConfig) register(f envFlags) {
	f.string(&c.webhookSecret, "access-webhook-secret", "SHEQU_ACCESS_WEBHOOK_SECRET", "", "secret door controllers that call out sign their webhook calls with (HMAC-SHA256); empty refuses them")
	f.string(&c.mqtt, "access-mqtt", "SHEQU_ACCESS_MQTT", "", "MQTT broker the door controllers use; default the sensors' (--mqtt, or the embedded --mqtt-listen)")
}

// brokerURL is where the door adapter connects: the one given, the
// sensors' external broker, or the embedded one.
func (c *accessConfig) brokerURL(ac alarmConfig) string {
	switch {
	case c.mqtt != "":
		return c.mqtt
	case ac.mqttURL != "":
		return ac.mqttURL
	case ac.mqttListen != "":
		host, port, err := net.SplitHostPort(ac.mqttListen)
		if err != nil {
			return ""
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		return "tcp://" + net.JoinHostPort(host, port)
	}
	return ""
}

// runAccess runs access control's background work until ctx ends: the
// MQTT adapter, the revocation pusher, and, on the one node holding their
// lease, the fire releases, the welfare checks and the pruning of expired
// revocations. The access log's period is package retention's (the
// "access_log" policy), like every other kind of data.
func runAccess(ctx context.Context, c accessConfig, ac alarmConfig, st *sqlstore.Store, log *slog.Logger) {
	log = log.With("part", "access")
	var adapters []access.Adapter
	if u := c.brokerURL(ac); u != "" {
		node := thisNode
		a := accessmqtt.New(accessmqtt.Config{URL: u, ClientID: "shequ-access-" + node, Username: ac.mqttUser, Password: ac.mqttPass, Logger: log}, st)
		if err := a.Start(ctx); err != nil {
			log.Error("door controllers over MQTT", "err", err)
		} else {
			adapters = append(adapters, a)
			defer a.Close()
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait() // the pusher reads the store: done before it closes
	if len(adapters) > 0 {
		p := &access.Pusher{Source: st, Adapters: adapters, Log: log}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Run(ctx)
		}()
	}
	node := thisNode
	fire := &jobs.Leader{Store: st, Name: "access-chores", Holder: node, Log: log}
	fire.Run(ctx, func(ctx context.Context) {
		purge := time.NewTicker(time.Hour)
		defer purge.Stop()
		release := time.NewTicker(2 * time.Second)
		defer release.Stop()
		welfare := time.NewTicker(10 * time.Minute)
		defer welfare.Stop()
		purgeRevocations(ctx, st, log)
		for {
			select {
			case <-ctx.Done():
				return
			case <-welfare.C:
				ids, err := st.CheckWelfare(ctx)
				if err != nil {
					log.Error("welfare checks", "err", err)
				} else if len(ids) > 0 {
					log.Info("welfare checks opened", "incidents", ids)
				}
			case <-purge.C:
				purgeRevocations(ctx, st, log)
			case <-release.C:
				cmds, err := st.FireReleases(ctx)
				if err != nil {
					log.Error("fire release", "err", err)
					continue
				}
				for _, cmd := range cmds {
					log.Warn("door "+cmd.Action+" for a fire alarm", "door", cmd.DoorID)
					for _, a := range adapters {
						if err := a.Command(ctx, cmd); err != nil {
							log.Error("door command not sent", "door", cmd.DoorID, "adapter", a.Name(), "err", err)
						}
					}
				}
			}
		}
	})
}

func purgeRevocations(ctx context.Context, st *sqlstore.Store, log *slog.Logger) {
	n, err := st.PurgeRevocations(ctx)
	if err != nil {
		log.Error("expired revocations", "err", err)
	} else if n > 0 {
		log.Info("expired revocations deleted", "rows", n)
	}
}
