package sqlstore

import (
	"context"
	"fmt"
)

// MQTTClientID returns the deployment's MQTT client id at the external
// broker, making it proposed if the deployment has none yet. Every node
// gets the same answer, whichever asked first.
func (s *Store) MQTTClientID(ctx context.Context, proposed string) (string, error) {
	if _, err := s.write.ExecContext(ctx, "INSERT INTO mqtt_session (id, client_id, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING", proposed, s.now()); err != nil {
		return "", fmt.Errorf("mqtt session: %w", err)
	}
	var id string
	if err := s.write.QueryRowContext(ctx, "SELECT client_id FROM mqtt_session WHERE id = 1").Scan(&id); err != nil {
		return "", fmt.Errorf("mqtt session: %w", err)
	}
	return id, nil
}
