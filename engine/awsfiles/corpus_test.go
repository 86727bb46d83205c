package awsfiles_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/shuffle-migrate/shuffle/engine/awsfiles"
)

// corpusCase is a pair of files read by both readers.
type corpusCase struct {
	name        string
	config      string
	credentials string
	// want pins what the SDK reads ("profile.field" → value, fields as in
	// sdkFields), so that the case is known to tell a naive reader apart.
	want map[string]string
	// expiry: profile → the Unix time its Expiry gives (0: none).
	expiry map[string]int64
	// try: more names to ask both readers for.
	try []string
	// noConfig: the config file does not exist.
	noConfig bool
}

// sdkFields are the SharedConfig fields the comparison covers.
type sdkFields struct {
	AccessKeyID, SecretAccessKey, SessionToken                       string
	Region, RoleARN, SourceProfileName, CredentialSource             string
	CredentialProcess, WebIdentityTokenFile, RoleSessionName         string
	ExternalID, MFASerial, SSOSessionName, SSOAccountID, SSORoleName string
	SSOStartURL, SSORegion, BaseEndpoint, ServicesSectionName        string
	SessionSSORegion, SessionSSOStartURL                             string
	Services                                                         map[string]map[string]string
}

func fromSDK(c config.SharedConfig) sdkFields {
	f := sdkFields{
		AccessKeyID: c.Credentials.AccessKeyID, SecretAccessKey: c.Credentials.SecretAccessKey,
		SessionToken: c.Credentials.SessionToken, Region: c.Region, RoleARN: c.RoleARN,
		SourceProfileName: c.SourceProfileName, CredentialSource: c.CredentialSource,
		CredentialProcess: c.CredentialProcess, WebIdentityTokenFile: c.WebIdentityTokenFile,
		RoleSessionName: c.RoleSessionName, ExternalID: c.ExternalID, MFASerial: c.MFASerial,
		SSOSessionName: c.SSOSessionName, SSOAccountID: c.SSOAccountID, SSORoleName: c.SSORoleName,
		SSOStartURL: c.SSOStartURL, SSORegion: c.SSORegion, BaseEndpoint: c.BaseEndpoint,
		ServicesSectionName: c.ServicesSectionName, Services: c.Services.ServiceValues,
	}
	if c.SSOSession != nil {
		f.SessionSSORegion, f.SessionSSOStartURL = c.SSOSession.SSORegion, c.SSOSession.SSOStartURL
	}
	return f
}

// fromFiles derives the same fields from this package's reading, with
// the SDK's documented rules for turning values into its SharedConfig:
// keys only as a complete pair (aws.Credentials.HasKeys), and a profile
// with source_profile takes its credentials from that profile only
// (SharedConfig.clearCredentialOptions).
func fromFiles(s *awsfiles.Set, p awsfiles.Profile) sdkFields {
	get := func(k string) string { v, _ := p.Get(k); return v.Value }
	f := sdkFields{
		AccessKeyID: get("aws_access_key_id"), SecretAccessKey: get("aws_secret_access_key"),
		SessionToken: get("aws_session_token"), Region: get("region"), RoleARN: get("role_arn"),
		SourceProfileName: get("source_profile"), CredentialSource: get("credential_source"),
		CredentialProcess: get("credential_process"), WebIdentityTokenFile: get("web_identity_token_file"),
		RoleSessionName: get("role_session_name"), ExternalID: get("external_id"), MFASerial: get("mfa_serial"),
		SSOSessionName: get("sso_session"), SSOAccountID: get("sso_account_id"), SSORoleName: get("sso_role_name"),
		SSOStartURL: get("sso_start_url"), SSORegion: get("sso_region"), BaseEndpoint: get("endpoint_url"),
		ServicesSectionName: get("services"),
	}
	if f.AccessKeyID == "" || f.SecretAccessKey == "" {
		f.AccessKeyID, f.SecretAccessKey, f.SessionToken = "", "", ""
	}
	if f.SourceProfileName != "" {
		f.CredentialSource, f.CredentialProcess, f.WebIdentityTokenFile = "", "", ""
		f.AccessKeyID, f.SecretAccessKey, f.SessionToken = "", "", ""
		f.SSOAccountID, f.SSORegion, f.SSORoleName, f.SSOStartURL = "", "", "", ""
	}
	if f.SSOSessionName != "" {
		if sess, ok := s.SSOSession(f.SSOSessionName); ok {
			r, _ := sess.Get("sso_region")
			u, _ := sess.Get("sso_start_url")
			f.SessionSSORegion, f.SessionSSOStartURL = r.Value, u.Value
		}
	}
	if f.ServicesSectionName != "" {
		if svcs, ok := s.Services(f.ServicesSectionName); ok {
			f.Services = map[string]map[string]string{}
			for k, v := range svcs.Values {
				f.Services[k] = v.Sub
			}
		}
	}
	return f
}

var headerRE = regexp.MustCompile(`^\s*\[([^\]]*)\]`)

// candidateNames are the names to ask both readers for: every header's
// name as written, without its "profile " prefix, blanks collapsed, in
// lower case, plus the case's own.
func candidateNames(c corpusCase) []string {
	seen := map[string]bool{}
	add := func(n string) {
		if n = strings.TrimSpace(n); n != "" {
			seen[n] = true
		}
	}
	for _, text := range []string{c.config, c.credentials} {
		for _, line := range strings.Split(text, "\n") {
			m := headerRE.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			inner := strings.TrimSpace(m[1])
			collapsed := strings.Join(strings.Fields(inner), " ")
			for _, n := range []string{inner, collapsed, strings.ToLower(collapsed)} {
				add(n)
				add(strings.TrimPrefix(n, "profile "))
			}
		}
	}
	for _, n := range c.try {
		add(n)
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// sdkHas says whether the SDK finds a section by that name: it loads it,
// or refuses it for what is in it (partial keys, a missing source
// profile), but not because there is no such profile.
func sdkHas(err error) bool {
	_, missing := err.(config.SharedConfigProfileNotExistError)
	return !missing
}

// mineHas asks this package for the name as the SDK would look it up:
// the SDK finds sso-session and services sections under their full name.
func mineHas(s *awsfiles.Set, name string) bool {
	if n, ok := strings.CutPrefix(name, "sso-session "); ok {
		// SSOSession trims the name as the SDK trims a profile's
		// sso_session; a section name is looked up as it is.
		_, found := s.SSOSession(n)
		return found && n == strings.TrimSpace(n)
	}
	if n, ok := strings.CutPrefix(name, "services "); ok {
		_, found := s.Services(n)
		return found
	}
	_, found := s.Profile(name)
	return found
}

func TestCorpusAgreesWithSDK(t *testing.T) {
	compared := 0
	for _, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			compared += checkCase(t, c)
		})
	}
	t.Logf("%d profiles compared field by field", compared)
	if compared < 40 {
		t.Errorf("only %d profiles compared field by field; the corpus is meant to exercise more", compared)
	}
}

func checkCase(t *testing.T, c corpusCase) int {
	dir := t.TempDir()
	files := awsfiles.Files{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "credentials")}
	write := map[string]string{files.Config: c.config, files.Credentials: c.credentials}
	if c.noConfig {
		delete(write, files.Config)
	}
	for path, text := range write {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	set, err := awsfiles.Read(files)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	load := func(name string) (config.SharedConfig, error) {
		return config.LoadSharedConfigProfile(ctx, name, func(o *config.LoadSharedConfigOptions) {
			o.ConfigFiles = []string{files.Config}
			o.CredentialsFiles = []string{files.Credentials}
		})
	}
	compared := 0
	var sdkProfiles []string
	for _, name := range candidateNames(c) {
		sc, err := load(name)
		isSection := strings.HasPrefix(name, "sso-session ") || strings.HasPrefix(name, "services ")
		if sdkHas(err) != mineHas(set, name) {
			t.Errorf("%q: the SDK finds it: %v (err %v); awsfiles finds it: %v", name, sdkHas(err), err, mineHas(set, name))
			continue
		}
		if sdkHas(err) && !isSection {
			sdkProfiles = append(sdkProfiles, name)
		}
		if err != nil || isSection {
			continue
		}
		mine, _ := set.Profile(name)
		if got, want := fromFiles(set, mine), fromSDK(sc); !reflect.DeepEqual(got, want) {
			t.Errorf("profile %q:\n awsfiles %+v\n SDK      %+v", name, got, want)
		}
		compared++
	}
	if got := set.Profiles(); !slices.Equal(got, sdkProfiles) {
		t.Errorf("Profiles() = %q; the SDK finds %q among the names tried", got, sdkProfiles)
	}
	checkWant(t, c, load)
	checkExpiry(t, c, set)
	return compared
}

func checkWant(t *testing.T, c corpusCase, load func(string) (config.SharedConfig, error)) {
	for key, want := range c.want {
		name, field, _ := strings.Cut(key, ".")
		sc, err := load(name)
		if err != nil {
			t.Errorf("the SDK does not load %q: %v", name, err)
			continue
		}
		got := reflect.ValueOf(fromSDK(sc)).FieldByName(field)
		if !got.IsValid() {
			t.Fatalf("want names unknown field %q", field)
		}
		if got.String() != want {
			t.Errorf("the SDK reads %s as %q, the case expects %q", key, got.String(), want)
		}
	}
}

func checkExpiry(t *testing.T, c corpusCase, set *awsfiles.Set) {
	for name, want := range c.expiry {
		p, ok := set.Profile(name)
		if !ok {
			t.Errorf("no profile %q for its expiry", name)
			continue
		}
		exp, from, err := p.Expiry()
		if err != nil {
			t.Errorf("%s: expiry: %v", name, err)
			continue
		}
		got := int64(0)
		if !exp.IsZero() {
			got = exp.Unix()
		}
		if got != want {
			t.Errorf("%s: expiry %v (from %+v), want Unix %d", name, exp, from, want)
		}
	}
}
