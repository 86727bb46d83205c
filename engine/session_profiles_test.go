package engine

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shuffle-migrate/shuffle/engine/awsclient"
	"github.com/shuffle-migrate/shuffle/engine/profiles"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// TestResolveProfilesTakesTheCommandsEnvironment: every field of the
// options the command read from the environment reaches the
// resolution, and its refusals are ConfigErrors (exit 2).
func TestResolveProfilesTakesTheCommandsEnvironment(t *testing.T) {
	dir := t.TempDir()
	o := awsclient.Options{Profile: "ops", Region: "eu-north-1", DefaultRegion: "us-west-1",
		ConfigFile: filepath.Join(dir, "config"), CredentialsFile: filepath.Join(dir, "credentials")}
	if err := os.WriteFile(o.CredentialsFile, []byte("[dst]\nregion = eu-north-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := scriptconfig.Config{
		Source:      scriptconfig.Endpoint{Account: "111111111111"},
		Destination: scriptconfig.Endpoint{Account: "222222222222"},
	}
	got, sides, err := ResolveProfiles(cfg, Overrides{DestinationProfile: "dst"}, o)
	if err != nil {
		t.Fatal(err)
	}
	if got.Source.Profile != "ops" || got.Destination.Profile != "dst" || got.Source.Region != "eu-north-1" || got.Destination.Region != "eu-north-1" {
		t.Errorf("config %+v", got)
	}
	if sides.Source.RegionFrom != "AWS_REGION" || sides.Destination.RegionFrom != `region of profile "dst", `+o.CredentialsFile+" line 2" {
		t.Errorf("sides %+v", sides)
	}
	o.Region = ""
	if _, _, err := ResolveProfiles(cfg, Overrides{DestinationProfile: "dst"}, o); err == nil {
		t.Error("AWS_DEFAULT_REGION us-west-1 against the destination profile's eu-north-1 was accepted")
	}
	_, _, err = ResolveProfiles(cfg, Overrides{}, o)
	var ce *ConfigError
	var ue *profiles.UsageError
	if !errors.As(err, &ce) || !errors.As(err, &ue) {
		t.Fatalf("no destination profile: got %v, want a ConfigError wrapping a profiles.UsageError", err)
	}
}
