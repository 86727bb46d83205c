package testenv_test

// The variants that change listings and descriptions, through the real
// aws-sdk-go-v2 Backup client: no-key-type, short-pages, nulls,
// unknown-types and stale-counts; and how variants are named and
// switched (Options.Variants, GET/PUT /_testenv/variants).

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/backup/types"

	"github.com/shuffle-migrate/shuffle/testenv"
	"github.com/shuffle-migrate/shuffle/testenv/testenvtest"
)

func TestVariantNamesAreChecked(t *testing.T) {
	if _, err := testenv.New(testenv.Options{RecoveryPoints: -1, Variants: []string{"nulls", "no-such"}}); err == nil ||
		!strings.Contains(err.Error(), `"no-such"`) || !strings.Contains(err.Error(), "busy-resources") {
		t.Fatalf("New with an unknown variant: %v; want an error naming it and the valid ones", err)
	}
	all, err := testenv.ParseVariants([]string{"all"})
	if err != nil || !slices.Equal(all, testenv.AllVariants) {
		t.Fatalf("all = %v, %v; want %v", all, err, testenv.AllVariants)
	}
	two, err := testenv.ParseVariants([]string{"nulls,short-pages", "nulls"})
	if err != nil || !slices.Equal(two, []string{"short-pages", "nulls"}) {
		t.Fatalf("nulls,short-pages + nulls = %v, %v", two, err)
	}
}

// sdkAdminVariants calls GET or PUT /_testenv/variants.
func sdkAdminVariants(t *testing.T, env *testenvtest.Env, method, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+"/_testenv/variants", strings.NewReader(body))
	sdkNoErr(t, err, "request")
	resp, err := http.DefaultClient.Do(req)
	sdkNoErr(t, err, method+" /_testenv/variants")
	defer resp.Body.Close()
	var out map[string]any
	sdkNoErr(t, json.NewDecoder(resp.Body).Decode(&out), "decode")
	return resp.StatusCode, out
}

func TestVariantsAdminSwitchesLive(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 100, Variants: []string{"stale-counts"}})
	if code, out := sdkAdminVariants(t, env, "GET", ""); code != 200 || !slices.Equal(sdkStrings(out["variants"]), []string{"stale-counts"}) {
		t.Fatalf("GET: %d %v", code, out)
	}
	if code, out := sdkAdminVariants(t, env, "PUT", `{"variants":["all"]}`); code != 200 || !slices.Equal(sdkStrings(out["variants"]), testenv.AllVariants) {
		t.Fatalf("PUT all: %d %v", code, out)
	}
	if code, out := sdkAdminVariants(t, env, "PUT", `{"variants":["nulls","bogus"]}`); code != 400 || !strings.Contains(out["error"].(string), "bogus") {
		t.Fatalf("PUT bogus: %d %v; want 400 naming it", code, out)
	}
	if got := env.Variants(); !slices.Equal(got, testenv.AllVariants) {
		t.Fatalf("a refused PUT changed the variants to %v", got)
	}
	if code, out := sdkAdminVariants(t, env, "PUT", `{"variants":[]}`); code != 200 || len(sdkStrings(out["variants"])) != 0 {
		t.Fatalf("PUT none: %d %v", code, out)
	}
}

func sdkStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		out = append(out, x.(string))
	}
	return out
}

func TestVariantNoKeyType(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 300})
	c := sdkBackup(t, env, testenv.ProfileSource)
	withType := 0
	for _, rp := range sdkAllSourceRPs(t, env) {
		if rp.EncryptionKeyType != "" {
			withType++
		}
	}
	if withType == 0 {
		t.Fatal("the default listing has no EncryptionKeyType at all; the test proves nothing")
	}
	if err := env.SetVariants([]string{"no-key-type"}); err != nil {
		t.Fatal(err)
	}
	all := sdkAllSourceRPs(t, env)
	for _, rp := range all {
		if rp.EncryptionKeyType != "" {
			t.Fatalf("listed %s with EncryptionKeyType %q under no-key-type", rp.Arn(), rp.EncryptionKeyType)
		}
	}
	for _, rp := range all[:20] {
		out, err := c.DescribeRecoveryPoint(sdkCtx, &backup.DescribeRecoveryPointInput{BackupVaultName: aws.String(rp.Vault), RecoveryPointArn: rp.RecoveryPointArn})
		sdkNoErr(t, err, "DescribeRecoveryPoint")
		if out.EncryptionKeyType != "" || aws.ToString(out.EncryptionKeyArn) != aws.ToString(rp.EncryptionKeyArn) {
			t.Fatalf("described %s with EncryptionKeyType %q, key %s", rp.Arn(), out.EncryptionKeyType, aws.ToString(out.EncryptionKeyArn))
		}
	}
}

func TestVariantShortPages(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 3000})
	c := sdkBackup(t, env, testenv.ProfileSource)
	vault := aws.String("prod-ebs-daily")
	_, err := c.ListRecoveryPointsByBackupVault(sdkCtx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: vault, MaxResults: aws.Int32(2000)})
	sdkWantErr(t, err, "InvalidParameterValueException", 400)
	want, _ := sdkListRPs(t, c, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: vault, MaxResults: aws.Int32(50)})

	if err := env.SetVariants([]string{"short-pages"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	short := 0
	p := backup.NewListRecoveryPointsByBackupVaultPaginator(c, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: vault, MaxResults: aws.Int32(50)})
	for p.HasMorePages() {
		page, err := p.NextPage(sdkCtx)
		sdkNoErr(t, err, "ListRecoveryPointsByBackupVault")
		if len(page.RecoveryPoints) < 50 && page.NextToken != nil {
			short++
		}
		for _, rp := range page.RecoveryPoints {
			got = append(got, aws.ToString(rp.RecoveryPointArn))
		}
	}
	if short == 0 {
		t.Errorf("no short page came back under short-pages")
	}
	if len(got) != len(want) {
		t.Fatalf("short pages listed %d RPs, full pages %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != aws.ToString(want[i].RecoveryPointArn) {
			t.Fatalf("short pages listed RP %d as %s, full pages as %s", i, got[i], aws.ToString(want[i].RecoveryPointArn))
		}
	}
	// MaxResults above 1000 is accepted; a page still holds at most 1000.
	out, err := c.ListRecoveryPointsByBackupVault(sdkCtx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: vault, MaxResults: aws.Int32(2000)})
	sdkNoErr(t, err, "MaxResults 2000 under short-pages")
	if n := len(out.RecoveryPoints); n == 0 || n > 1000 || (len(want) > n && out.NextToken == nil) {
		t.Fatalf("MaxResults 2000: %d RPs, NextToken %v, of %d", n, out.NextToken, len(want))
	}
}

// sdkCapture is an HTTP client that keeps the last response body.
type sdkCapture struct {
	mu   sync.Mutex
	last []byte
}

func (c *sdkCapture) Do(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	c.mu.Lock()
	c.last = b
	c.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, err
}

func TestVariantNulls(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 300})
	capture := &sdkCapture{}
	c := sdkBackup(t, env, testenv.ProfileSource, func(o *backup.Options) { o.HTTPClient = capture })
	in := &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("prod-ebs-daily")}
	want, _ := sdkListRPs(t, c, in)
	if bytes.Contains(capture.last, []byte("null")) {
		t.Fatalf("the default listing sends null: %.300s", capture.last)
	}
	vaultsBefore, err := c.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkNoErr(t, err, "ListBackupVaults")
	if err := env.SetVariants([]string{"nulls"}); err != nil {
		t.Fatal(err)
	}
	sdkNullVaults(t, c, capture, vaultsBefore.BackupVaultList)
	_, err = c.ListCopyJobs(sdkCtx, &backup.ListCopyJobsInput{})
	sdkNoErr(t, err, "ListCopyJobs under nulls")
	if !strings.Contains(string(capture.last), `"NextToken":null`) {
		t.Errorf("ListCopyJobs under nulls: %.200s", capture.last)
	}
	got, _ := sdkListRPs(t, c, in)
	body := string(capture.last)
	for _, re := range []string{`"NextToken":null`, `"CreationDate":1\.\d+E9[,}]`, `"(SourceBackupVaultArn|StatusMessage|ParentRecoveryPointArn)":null`} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("the nulls listing does not match %s: %.400s", re, body)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("nulls listed %d RPs, default %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if aws.ToString(w.RecoveryPointArn) != aws.ToString(g.RecoveryPointArn) || !w.CreationDate.Equal(*g.CreationDate) ||
			!w.CompletionDate.Equal(*g.CompletionDate) || aws.ToString(w.EncryptionKeyArn) != aws.ToString(g.EncryptionKeyArn) {
			t.Fatalf("RP %d reads differently with nulls: %+v vs %+v", i, g, w)
		}
	}
}

func TestVariantStaleCounts(t *testing.T) {
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 600, Variants: []string{"stale-counts"}})
	c := sdkBackup(t, env, testenv.ProfileSource)
	out, err := c.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkNoErr(t, err, "ListBackupVaults")
	above, below := 0, 0
	for _, v := range out.BackupVaultList {
		rps, _ := sdkListRPs(t, c, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: v.BackupVaultName})
		d, err := c.DescribeBackupVault(sdkCtx, &backup.DescribeBackupVaultInput{BackupVaultName: v.BackupVaultName})
		sdkNoErr(t, err, "DescribeBackupVault")
		if d.NumberOfRecoveryPoints != v.NumberOfRecoveryPoints {
			t.Errorf("%s: ListBackupVaults says %d, DescribeBackupVault %d", aws.ToString(v.BackupVaultName), v.NumberOfRecoveryPoints, d.NumberOfRecoveryPoints)
		}
		switch n := int64(len(rps)); {
		case v.NumberOfRecoveryPoints > n:
			above++
		case v.NumberOfRecoveryPoints < n:
			below++
		}
	}
	if above == 0 || below == 0 {
		t.Fatalf("stale counts: %d vaults above their real count, %d below; want both", above, below)
	}
}

func TestVariantUnknownTypes(t *testing.T) {
	plain := testenvtest.Start(t, testenv.Options{RecoveryPoints: 400})
	env := testenvtest.Start(t, testenv.Options{RecoveryPoints: 400, CopySpeed: 1e6, Variants: []string{"unknown-types"}})
	base := map[string]types.RecoveryPointByBackupVault{}
	for _, rp := range sdkAllSourceRPs(t, plain) {
		base[rp.Arn()] = rp.RecoveryPointByBackupVault
	}
	byType := map[string][]sdkRP{}
	for _, rp := range sdkAllSourceRPs(t, env) {
		b, ok := base[rp.Arn()]
		if typ := aws.ToString(rp.ResourceType); !ok {
			byType[typ] = append(byType[typ], rp)
		} else if !b.CreationDate.Equal(*rp.CreationDate) || aws.ToString(b.ResourceArn) != aws.ToString(rp.ResourceArn) {
			t.Fatalf("unknown-types changed the default RP %s", rp.Arn())
		}
		delete(base, rp.Arn())
	}
	if len(base) != 0 || len(byType) != 2 || len(byType["EKS"]) == 0 || len(byType["QuantumLedger"]) == 0 {
		t.Fatalf("unknown-types: %d default RPs missing; extra RPs by type %v", len(base), sdkCountTypes(byType))
	}
	for _, rps := range byType {
		for _, rp := range rps {
			if !bytes.Contains(env.Metadata(), []byte("\r\n"+aws.ToString(rp.ResourceArn)+",APM")) {
				t.Fatalf("metadata.csv has no row for %s", aws.ToString(rp.ResourceArn))
			}
		}
	}
	if !bytes.HasPrefix(env.Metadata(), plain.Metadata()) {
		t.Fatalf("unknown-types changed the seeded rows of metadata.csv")
	}
	c := sdkBackup(t, env, testenv.ProfileSource)
	eks := byType["EKS"][0]
	rps, _ := sdkListRPs(t, c, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(eks.Vault), ByResourceType: aws.String("EKS")})
	if len(rps) == 0 || !slices.ContainsFunc(rps, func(r types.RecoveryPointByBackupVault) bool { return aws.ToString(r.RecoveryPointArn) == eks.Arn() }) {
		t.Fatalf("ByResourceType EKS in %s lists %d RPs, not %s", eks.Vault, len(rps), eks.Arn())
	}
	dest := sdkDestVault(t, env, "unknown-types-dest", true)
	for _, rp := range []sdkRP{eks, byType["QuantumLedger"][0]} {
		id, err := sdkStartCopy(c, rp, dest)
		sdkNoErr(t, err, "StartCopyJob "+aws.ToString(rp.ResourceType))
		if j := sdkWaitJob(t, c, id); j.State != types.CopyJobStateCompleted {
			t.Errorf("copy of %s RP ended %s: %s", aws.ToString(rp.ResourceType), j.State, aws.ToString(j.StatusMessage))
		}
	}
	// Switching off leaves them; switching on again adds no more.
	n := len(sdkAllSourceRPs(t, env))
	for _, vs := range [][]string{nil, {"unknown-types"}} {
		if err := env.SetVariants(vs); err != nil {
			t.Fatal(err)
		}
		if m := len(sdkAllSourceRPs(t, env)); m != n {
			t.Fatalf("after switching to %v the source lists %d RPs, before %d", vs, m, n)
		}
	}
}

func sdkCountTypes(m map[string][]sdkRP) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = len(v)
	}
	return out
}

// sdkNullVaults lists the vaults under nulls and compares them with the
// default listing.
func sdkNullVaults(t *testing.T, c *backup.Client, capture *sdkCapture, want []types.BackupVaultListMember) {
	t.Helper()
	out, err := c.ListBackupVaults(sdkCtx, &backup.ListBackupVaultsInput{})
	sdkNoErr(t, err, "ListBackupVaults under nulls")
	body := string(capture.last)
	for _, re := range []string{`"NextToken":null`, `"CreationDate":1\.\d+E9[,}]`, `"CreatorRequestId":null`} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("ListBackupVaults under nulls does not match %s: %.300s", re, body)
		}
	}
	if len(out.BackupVaultList) != len(want) {
		t.Fatalf("ListBackupVaults under nulls: %d vaults, default %d", len(out.BackupVaultList), len(want))
	}
	for i, w := range want {
		g := out.BackupVaultList[i]
		if aws.ToString(g.BackupVaultArn) != aws.ToString(w.BackupVaultArn) || !g.CreationDate.Equal(*w.CreationDate) ||
			aws.ToString(g.EncryptionKeyArn) != aws.ToString(w.EncryptionKeyArn) || g.NumberOfRecoveryPoints != w.NumberOfRecoveryPoints {
			t.Fatalf("vault %d reads differently under nulls: %+v vs %+v", i, g, w)
		}
	}
}
