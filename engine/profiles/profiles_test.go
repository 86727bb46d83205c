package profiles

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/shuffle-migrate/shuffle/engine/awsfiles"
	"github.com/shuffle-migrate/shuffle/engine/scriptconfig"
)

// The shared files of these tests. Line numbers matter: messages name
// them.
const testConfig = `[default]
region = ap-southeast-2

[profile source]
region = us-east-1
endpoint_url = http://localhost:1

[profile destination]
region = us-east-1

[profile src-eu]
region = eu-west-1

[profile noregion]
output = json

[profile base]
region = eu-central-1

[profile assumed]
role_arn = arn:aws:iam::111111111111:role/R
source_profile = base

[profile assumed-own]
role_arn = arn:aws:iam::111111111111:role/R
source_profile = base
region = sa-east-1

[profile typo]
region = eu-west-1a

[profile noregion2]
output = json
`

const testCredentials = `[source]
aws_access_key_id = AKIA1
aws_secret_access_key = s1

[base]
aws_access_key_id = AKIA2
aws_secret_access_key = s2

[credonly]
aws_access_key_id = AKIA3
aws_secret_access_key = s3
region = ca-central-1
`

func testFiles(t *testing.T) awsfiles.Files {
	t.Helper()
	dir := t.TempDir()
	f := awsfiles.Files{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "credentials")}
	if err := os.WriteFile(f.Config, []byte(testConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.Credentials, []byte(testCredentials), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func script(srcProfile, srcRegion, dstProfile, dstRegion string) scriptconfig.Config {
	return scriptconfig.Config{
		Source:      scriptconfig.Endpoint{Profile: srcProfile, Account: "111111111111", Region: srcRegion},
		Destination: scriptconfig.Endpoint{Profile: dstProfile, Account: "222222222222", Region: dstRegion},
	}
}

func TestResolveProfilePrecedence(t *testing.T) {
	files := testFiles(t)
	for _, tc := range []struct {
		name                string
		cfg                 scriptconfig.Config
		flags               Flags
		envProfile          string
		src, srcFrom        string
		dst, dstFrom        string
		wantSrcRegion       string
		wantSrcRegionSource string
	}{
		{"flags win over the script and AWS_PROFILE", script("noregion", "", "noregion2", ""), Flags{"source", "destination"}, "src-eu",
			"source", "--source-profile", "destination", "--destination-profile", "us-east-1", `region of profile "source", ` + files.Config + " line 5"},
		{"the script wins over AWS_PROFILE", script("source", "", "destination", ""), Flags{}, "src-eu",
			"source", "script source.profile", "destination", "script destination.profile", "us-east-1", `region of profile "source", ` + files.Config + " line 5"},
		{"AWS_PROFILE for the source only", script("", "", "destination", ""), Flags{}, "source",
			"source", "AWS_PROFILE", "destination", "script destination.profile", "us-east-1", `region of profile "source", ` + files.Config + " line 5"},
	} {
		cfg, sides, err := Resolve(tc.cfg, tc.flags, Env{Profile: tc.envProfile, Files: files})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		want := Side{Profile: tc.src, ProfileFrom: tc.srcFrom, Region: tc.wantSrcRegion, RegionFrom: tc.wantSrcRegionSource}
		if sides.Source != want {
			t.Errorf("%s: source\n got %+v\nwant %+v", tc.name, sides.Source, want)
		}
		if sides.Destination.Profile != tc.dst || sides.Destination.ProfileFrom != tc.dstFrom {
			t.Errorf("%s: destination %+v, want %s from %s", tc.name, sides.Destination, tc.dst, tc.dstFrom)
		}
		if cfg.Source.Profile != tc.src || cfg.Destination.Profile != tc.dst || cfg.Source.Region != tc.wantSrcRegion || cfg.Destination.Region != tc.wantSrcRegion {
			t.Errorf("%s: config %+v", tc.name, cfg)
		}
	}
}

func TestResolveDefaultProfile(t *testing.T) {
	files := testFiles(t)
	cfg, sides, err := Resolve(script("", "", "", ""), Flags{DestinationProfile: "noregion"}, Env{Files: files})
	if err != nil {
		t.Fatal(err)
	}
	want := Side{Profile: "default", ProfileFrom: "default", Region: "ap-southeast-2", RegionFrom: `region of profile "default", ` + files.Config + " line 2"}
	if sides.Source != want {
		t.Errorf("source %+v, want %+v", sides.Source, want)
	}
	// The destination names no region: it takes the source's, and says so.
	if sides.Destination.Region != "ap-southeast-2" || sides.Destination.RegionFrom != want.RegionFrom || cfg.Destination.Region != "ap-southeast-2" {
		t.Errorf("destination %+v", sides.Destination)
	}
}

func TestResolveMissingDestinationProfile(t *testing.T) {
	files := testFiles(t)
	for _, envProfile := range []string{"", "source"} {
		_, _, err := Resolve(script("source", "", "", ""), Flags{SourceProfile: "source"}, Env{Profile: envProfile, Files: files})
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Fatalf("AWS_PROFILE=%q: got %v, want a *UsageError", envProfile, err)
		}
		for _, s := range []string{"no AWS profile for the destination account", "destination.profile", "--destination-profile", "AWS_PROFILE", "one profile cannot be both accounts"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("AWS_PROFILE=%q: %q does not say %q", envProfile, err, s)
			}
		}
		if envProfile != "" && !strings.Contains(err.Error(), `AWS_PROFILE ("source") is taken for the source only`) {
			t.Errorf("does not name AWS_PROFILE's value: %v", err)
		}
	}
}

func TestResolveRegionSources(t *testing.T) {
	files := testFiles(t)
	cfgLine := func(n string) string { return files.Config + " line " + n }
	for _, tc := range []struct {
		name          string
		cfg           scriptconfig.Config
		env           Env
		region        string
		srcFrom       string
		dstFrom       string
		profileAgrees bool
	}{
		{"script source.region", script("noregion", "eu-west-3", "noregion2", ""), Env{}, "eu-west-3", "script source.region", "script source.region", false},
		{"script destination.region alone", script("noregion", "", "noregion2", "eu-west-3"), Env{}, "eu-west-3", "script destination.region", "script destination.region", false},
		{"the profile's region", script("source", "", "destination", ""), Env{}, "us-east-1", `region of profile "source", ` + cfgLine("5"), `region of profile "destination", ` + cfgLine("9"), true},
		{"the profile's region wins over AWS_REGION", script("src-eu", "", "noregion", ""), Env{Region: "eu-west-1"}, "eu-west-1", `region of profile "src-eu", ` + cfgLine("12"), "AWS_REGION", true},
		{"AWS_REGION", script("noregion", "", "assumed", ""), Env{Region: "eu-north-1", DefaultRegion: "us-west-1"}, "eu-north-1", "AWS_REGION", "AWS_REGION", true},
		{"AWS_DEFAULT_REGION", script("noregion", "", "assumed", ""), Env{DefaultRegion: "us-west-1"}, "us-west-1", "AWS_DEFAULT_REGION", "AWS_DEFAULT_REGION", true},
		{"a region in the credentials file", script("credonly", "", "noregion", ""), Env{}, "ca-central-1", `region of profile "credonly", ` + files.Credentials + " line 12", `region of profile "credonly", ` + files.Credentials + " line 12", true},
		{"an assume-role profile's own region", script("assumed-own", "", "noregion", ""), Env{}, "sa-east-1", `region of profile "assumed-own", ` + cfgLine("27"), `region of profile "assumed-own", ` + cfgLine("27"), true},
		{"the destination's when the source names none", script("noregion", "", "src-eu", ""), Env{}, "eu-west-1", `region of profile "src-eu", ` + cfgLine("12"), `region of profile "src-eu", ` + cfgLine("12"), true},
		{"a script region the profiles agree with", script("source", "us-east-1", "destination", "us-east-1"), Env{Region: "us-east-1"}, "us-east-1", "script source.region", "script source.region", true},
	} {
		tc.env.Files = files
		cfg, sides, err := Resolve(tc.cfg, Flags{}, tc.env)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if sides.Source.Region != tc.region || sides.Destination.Region != tc.region || cfg.Source.Region != tc.region || cfg.Destination.Region != tc.region {
			t.Errorf("%s: regions %+v / config %+v, want %s", tc.name, sides, cfg, tc.region)
		}
		if sides.Source.RegionFrom != tc.srcFrom || sides.Destination.RegionFrom != tc.dstFrom {
			t.Errorf("%s: from %q / %q, want %q / %q", tc.name, sides.Source.RegionFrom, sides.Destination.RegionFrom, tc.srcFrom, tc.dstFrom)
		}
	}
}

// TestResolveAssumeRoleRegionIsTheSDKs: an assume-role profile's region
// is its own key, never its source_profile's, as the SDK reads it.
func TestResolveAssumeRoleRegionIsTheSDKs(t *testing.T) {
	files := testFiles(t)
	for _, name := range []string{"assumed", "assumed-own", "credonly", "source", "default"} {
		sc, err := config.LoadSharedConfigProfile(context.Background(), name, func(o *config.LoadSharedConfigOptions) {
			o.ConfigFiles, o.CredentialsFiles = []string{files.Config}, []string{files.Credentials}
		})
		if err != nil {
			t.Fatalf("SDK, profile %s: %v", name, err)
		}
		set, err := awsfiles.Read(files)
		if err != nil {
			t.Fatal(err)
		}
		if got := sideRegion(set, Env{Files: files}, "source", name); got.value != sc.Region {
			t.Errorf("profile %s: region %q (%s), the SDK reads %q", name, got.value, got.from, sc.Region)
		}
	}
}

func TestResolveRegionMismatch(t *testing.T) {
	files := testFiles(t)
	for _, tc := range []struct {
		name string
		cfg  scriptconfig.Config
		env  Env
		want []string
	}{
		{"script vs both profiles", script("source", "eu-west-1", "destination", ""), Env{},
			[]string{`the script says region eu-west-1 (script source.region) but the source profile "source" resolves to us-east-1 (region of profile "source", ` + files.Config + ` line 5)`,
				`the destination profile "destination" resolves to us-east-1 (region of profile "destination", ` + files.Config + ` line 9)`,
				`change the script's region to us-east-1, or set region = eu-west-1 in profile "source" and in profile "destination"`}},
		{"script vs AWS_REGION", script("noregion", "", "assumed", "eu-west-1"), Env{Region: "us-east-1"},
			[]string{`the script says region eu-west-1 (script destination.region)`,
				`the source profile "noregion" resolves to us-east-1 (AWS_REGION; profile "noregion" names no region)`,
				"AWS_REGION=eu-west-1"}},
		{"script vs AWS_DEFAULT_REGION, profile missing", script("nosuch", "eu-west-1", "destination", ""), Env{DefaultRegion: "eu-west-1", Region: ""},
			[]string{`the destination profile "destination" resolves to us-east-1`}},
		{"profiles disagree", script("source", "", "src-eu", ""), Env{},
			[]string{`the source profile "source" resolves to region us-east-1 (region of profile "source", ` + files.Config + ` line 5)`,
				`the destination profile "src-eu" resolves to eu-west-1 (region of profile "src-eu", ` + files.Config + ` line 12)`,
				"make the two profiles' regions agree"}},
		{"profile vs environment", script("source", "", "noregion", ""), Env{Region: "eu-west-1"},
			[]string{"us-east-1", `eu-west-1 (AWS_REGION; profile "noregion" names no region)`}},
		{"the script's two regions", script("source", "us-east-1", "destination", "eu-west-1"), Env{},
			[]string{"source region us-east-1 but destination region eu-west-1"}},
		{"not a region", script("typo", "", "noregion", ""), Env{},
			[]string{`"eu-west-1a"`, `region of profile "typo", ` + files.Config + ` line 30`, "not an AWS region"}},
		{"none anywhere", script("noregion", "", "nosuch", ""), Env{},
			[]string{"no AWS region", `profile "noregion" names no region`, `profile "nosuch" is not in ` + files.Config, "neither AWS_REGION nor AWS_DEFAULT_REGION", "set source.region"}},
	} {
		tc.env.Files = files
		cfg, _, err := Resolve(tc.cfg, Flags{}, tc.env)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%s: got %v (config %+v), want a *UsageError", tc.name, err, cfg)
			continue
		}
		for _, s := range tc.want {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q\ndoes not say %q", tc.name, err, s)
			}
		}
	}
}

func TestResolveUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	files := awsfiles.Files{Config: dir, Credentials: filepath.Join(dir, "none")} // a directory cannot be read as a file
	_, _, err := Resolve(script("a", "us-east-1", "b", ""), Flags{}, Env{Files: files})
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("got %v, want a *UsageError naming %s", err, dir)
	}
}
