// Command soakcheck checks the end of `make soak` (docs/performance.md)
// without trusting shuffle's copy records: it lists every destination
// vault through the AWS SDK and counts, per included recovery point, the
// COMPLETED recovery points there that are its copy (same vault name,
// resource and creation second: the default vault mapping is
// like-for-like). The included set is the policies' decision, read from
// the state. It also reports the state's live data (the bytes of every
// key and value Badger returns) against its size on disk.
//
//	. testenv-run/env && go run ./scripts/soakcheck --state .shuffle
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/dgraph-io/badger/v4"

	"github.com/shuffle-migrate/shuffle/engine/state"
)

type report struct {
	Included    int            `json:"included"`
	CopiedOnce  int            `json:"copied_once"`
	Missing     int            `json:"missing"`
	Duplicated  int            `json:"duplicated"`
	NotIncluded int            `json:"not_included"` // destination RPs that copy no included RP
	ByVault     map[string]int `json:"completed_by_vault"`
	Examples    []string       `json:"examples,omitempty"`
	LiveBytes   int64          `json:"live_bytes"`
	DiskBytes   int64          `json:"disk_bytes"`
}

func main() {
	dir := flag.String("state", ".shuffle", "state directory (closed)")
	profile := flag.String("profile", "destination", "AWS profile of the destination account")
	writeBase := flag.String("write-baseline", "", "only list the destination's COMPLETED recovery points into this file, before the migration")
	baseline := flag.String("baseline", "", "the file --write-baseline wrote: those recovery points are not the migration's")
	flag.Parse()
	ctx := context.Background()
	if *writeBase != "" {
		copies, _, err := listDestination(ctx, *profile)
		if err == nil {
			var b []byte
			b, err = json.Marshal(copies)
			if err == nil {
				err = os.WriteFile(*writeBase, b, 0o644)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "soakcheck:", err)
			os.Exit(2)
		}
		return
	}
	before := map[string]int{}
	if *baseline != "" {
		b, err := os.ReadFile(*baseline)
		if err == nil {
			err = json.Unmarshal(b, &before)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "soakcheck:", err)
			os.Exit(2)
		}
	}
	r, err := check(ctx, *dir, *profile, before)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soakcheck:", err)
		os.Exit(2)
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	fmt.Println(string(b))
	if r.Missing+r.Duplicated+r.NotIncluded > 0 {
		os.Exit(1)
	}
}

func key(vault, resource string, created int64) string {
	return fmt.Sprintf("%s|%s|%d", vault, resource, created)
}

func check(ctx context.Context, dir, profile string, before map[string]int) (*report, error) {
	st, err := state.OpenReadOnly(dir)
	if err != nil {
		return nil, err
	}
	included := map[string]string{}
	r := &report{}
	err = st.ScanRPs(func(rp *state.RP) error {
		if rp.Decision != nil && rp.Decision.Outcome == state.Included {
			included[key(rp.Vault, rp.ResourceArn, rp.CreationDate.Unix())] = rp.Arn
		}
		return nil
	})
	if err == nil {
		err = st.DB().View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.DefaultIteratorOptions)
			defer it.Close()
			for it.Rewind(); it.Valid(); it.Next() {
				r.LiveBytes += int64(len(it.Item().Key())) + it.Item().ValueSize()
			}
			return nil
		})
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	_ = filepath.Walk(filepath.Join(dir, "badger"), func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			r.DiskBytes += fi.Size()
		}
		return nil
	})
	r.Included = len(included)
	copies, byVault, err := listDestination(ctx, profile)
	if err != nil {
		return nil, err
	}
	r.ByVault = byVault
	for k, n := range copies {
		n -= before[k]
		copies[k] = n
		if _, ok := included[k]; !ok && n > 0 {
			r.NotIncluded += n
			if len(r.Examples) < 10 {
				r.Examples = append(r.Examples, "not included: "+k)
			}
		}
	}
	for k, arn := range included {
		switch n := copies[k]; {
		case n == 1:
			r.CopiedOnce++
		case n == 0:
			r.Missing++
			if len(r.Examples) < 10 {
				r.Examples = append(r.Examples, "missing: "+arn)
			}
		default:
			r.Duplicated++
			if len(r.Examples) < 10 {
				r.Examples = append(r.Examples, fmt.Sprintf("%d copies: %s", n, arn))
			}
		}
	}
	return r, nil
}

// listDestination counts the destination account's COMPLETED recovery
// points by vault name, resource and creation second.
func listDestination(ctx context.Context, profile string) (map[string]int, map[string]int, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithSharedConfigProfile(profile))
	if err != nil {
		return nil, nil, err
	}
	client := backup.NewFromConfig(cfg)
	var names []string
	vp := backup.NewListBackupVaultsPaginator(client, &backup.ListBackupVaultsInput{})
	for vp.HasMorePages() {
		out, err := vp.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("list destination vaults: %w", err)
		}
		for _, v := range out.BackupVaultList {
			names = append(names, aws.ToString(v.BackupVaultName))
		}
	}
	sort.Strings(names)
	copies, byVault := map[string]int{}, map[string]int{}
	for _, v := range names {
		p := backup.NewListRecoveryPointsByBackupVaultPaginator(client, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String(v)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, nil, fmt.Errorf("destination vault %s: %w", v, err)
			}
			for _, rp := range out.RecoveryPoints {
				if rp.Status != "COMPLETED" || rp.CreationDate == nil {
					continue
				}
				copies[key(v, aws.ToString(rp.ResourceArn), rp.CreationDate.Unix())]++
				byVault[v]++
			}
		}
	}
	return copies, byVault, nil
}
