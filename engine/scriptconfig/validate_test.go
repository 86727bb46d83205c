package scriptconfig

import (
	"strings"
	"testing"
)

func TestValidators(t *testing.T) {
	for _, tc := range []struct {
		f    func(string) bool
		s    string
		want bool
	}{
		{ValidAccount, "111111111111", true},
		{ValidAccount, "11111111111", false},
		{ValidAccount, "11111111111a", false},
		{ValidRegion, "eu-west-1", true},
		{ValidRegion, "us-gov-west-1", true},
		{ValidRegion, "EU-west-1", false},
		{ValidRegion, "eu-west", false},
		{ValidModuleName, "apmid_2", true},
		{ValidModuleName, "apmid.lua", false},
		{ValidModuleName, "", false},
	} {
		if got := tc.f(tc.s); got != tc.want {
			t.Errorf("%q: got %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	good := Config{
		Source:      Endpoint{Profile: "src", Account: "111111111111", Region: "eu-west-1"},
		Destination: Endpoint{Profile: "dst", Account: "222222222222", Region: "eu-west-1"},
		CopyRole:    "arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole",
	}
	if err := good.Check(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, edit := range []func(*Config){
		func(c *Config) { c.Source.Region = "" },
		func(c *Config) { c.Destination.Region = "us-west-2"; c.Source.Region = "" },
		func(c *Config) { c.Source.Region, c.Destination.Region = "", "" },
		func(c *Config) { c.Source.Profile, c.Destination.Profile = "", "" },
	} {
		c := good
		edit(&c)
		if err := c.Check(); err != nil {
			t.Errorf("profile or region left out (%+v): %v", c, err)
		}
	}
	for _, tc := range []struct {
		edit  func(*Config)
		field string
		msg   string
	}{
		{func(c *Config) { c.Destination.Region = "eu-west-2" }, "destination.region", "must equal source.region"},
		{func(c *Config) { c.Destination.Account = c.Source.Account }, "destination.account", "must differ"},
		{func(c *Config) { c.CopyRole = "role/x" }, "copy_role", "must be an IAM role ARN"},
		{func(c *Config) { c.CopyRole = "arn:aws:iam::222222222222:role/r" }, "copy_role", "account 222222222222"},
	} {
		c := good
		tc.edit(&c)
		err := c.Check()
		if err == nil || err.Field != tc.field || !strings.Contains(err.Msg, tc.msg) || !strings.HasPrefix(err.Error(), "shuffle.config: "+tc.field+" ") {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
}
