package awsfiles_test

// The corpus: each case is one rule of the SDK's reader, written as a
// file an operator or a refresher might write. Unix times: 1796576400 is
// 2026-12-06T17:00:00Z.
var corpus = []corpusCase{
	{
		name: "inline comments",
		config: `[default]
region = eu-west-1 # the estate's region
[profile tabbed]
region = us-east-2	; after a tab
role_arn = arn:aws:iam::111111111111:role/Ops#NoBlank
source_profile = base
`,
		credentials: `[default]
aws_access_key_id = ASIAX ; rotated by cron
aws_secret_access_key = s3cr;t#kept # but this goes
aws_session_token = tok;en	# tab comment
[base]
aws_access_key_id=AKIABASE;no-blank
aws_secret_access_key=base ;comment
`,
		want: map[string]string{
			"default.AccessKeyID":     "ASIAX",
			"default.SecretAccessKey": "s3cr;t#kept",
			"default.SessionToken":    "tok;en",
			"default.Region":          "eu-west-1",
			"tabbed.Region":           "us-east-2",
			"tabbed.RoleARN":          "arn:aws:iam::111111111111:role/Ops#NoBlank",
			"base.AccessKeyID":        "AKIABASE;no-blank",
			"base.SecretAccessKey":    "base",
		},
	},
	{
		name: "line comments",
		config: `# leading comment
; another
[profile a] ; comment after a header
   # an indented comment line
region = ap-south-1
	; tab-indented comment
# [profile commented-out]
# region = nowhere
[profile b]#comment without a blank
region = sa-east-1
`,
		credentials: `;[a]
#aws_access_key_id = NO
[a]
aws_access_key_id = AKIAA
; aws_secret_access_key = NO
aws_secret_access_key = sa
`,
		want: map[string]string{
			"a.Region": "ap-south-1", "a.AccessKeyID": "AKIAA", "a.SecretAccessKey": "sa",
			"b.Region": "sa-east-1",
		},
		try: []string{"commented-out"},
	},
	{
		name: "comment inside a header hides it",
		config: `[profile good]
region = eu-north-1
[profile bad;name]
region = us-west-1
[profile worse#x]
output = json
`,
		want: map[string]string{"good.Region": "us-west-1"},
		try:  []string{"bad", "bad;name", "worse", "worse#x"},
	},
	{
		name:        "whitespace and CRLF",
		config:      "\r\n  [  default  ]  \r\nregion   =   eu-west-3   \r\n\r\n[profile    spaced]\r\n\tregion=ca-central-1\r\n[profile\ttabbed]\r\nregion =\tme-south-1\t\r\n   \t\r\n[profile two words]\r\nregion = af-south-1\r\n",
		credentials: "[spaced]\r\naws_access_key_id = AKIAS \r\naws_secret_access_key=\tss\t\r\n[ default]\r\n aws_access_key_id = AKIAIND\r\naws_access_key_id = AKIAD\r\naws_secret_access_key = sd\r\n",
		want: map[string]string{
			"default.Region": "eu-west-3", "default.AccessKeyID": "AKIAD",
			"spaced.Region": "ca-central-1", "spaced.AccessKeyID": "AKIAS", "spaced.SecretAccessKey": "ss",
			"tabbed.Region": "me-south-1", "two words.Region": "af-south-1",
		},
	},
	{
		name: "key and section case",
		config: `[DEFAULT]
REGION = us-west-2
[profile Dev]
Region = eu-west-1
[profile dev]
region = eu-west-2
[Profile upper]
region = nowhere
`,
		credentials: `[Dev]
AWS_ACCESS_KEY_ID = AKIADEV
Aws_Secret_Access_Key = sdev
[default]
aws_access_key_id = AKIADEF
aws_secret_access_key = sdef
`,
		want: map[string]string{
			"DEFAULT.Region": "us-west-2", "Dev.Region": "eu-west-1", "dev.Region": "eu-west-2",
			"Dev.AccessKeyID": "AKIADEV", "default.AccessKeyID": "AKIADEF",
		},
		try: []string{"Default", "upper", "Profile upper"},
	},
	{
		name: "quoted values",
		config: `[profile q]
region = "eu-west-1"
role_arn = 'arn:aws:iam::111111111111:role/Q'
source_profile = "unbalanced
external_id = "has ; inside"
role_session_name = ""
mfa_serial = "a" # then a comment
[profile q2]
credential_process = "/opt/bin/helper" --profile "x"
region = ''
`,
		want: map[string]string{
			"q.Region": "eu-west-1", "q.RoleARN": "arn:aws:iam::111111111111:role/Q",
			"q.SourceProfileName": `"unbalanced`, "q.ExternalID": `"has`, "q.RoleSessionName": "",
			"q.MFASerial":          "a",
			"q2.CredentialProcess": `/opt/bin/helper" --profile "x`,
		},
		try: []string{"unbalanced", `"unbalanced`},
		credentials: `["unbalanced]
aws_access_key_id = AKIAU
aws_secret_access_key = su
`,
	},
	{
		name: "colon as a separator",
		config: `[profile c]
region: eu-central-1
role_arn = arn:aws:iam::111111111111:role/C
credential_source: Environment
external_id: a=b
role_session_name = x:y
`,
		want: map[string]string{
			"c.Region": "eu-central-1", "c.RoleARN": "arn:aws:iam::111111111111:role/C",
			"c.CredentialSource": "Environment", "c.ExternalID": "a=b", "c.RoleSessionName": "x:y",
		},
	},
	{
		name: "continuation lines",
		config: `[profile proc]
credential_process = /opt/bin/helper
  --account 111111111111
	--verbose
region = eu-west-1
[profile promoted]
credential_process = /opt/bin/helper
  --profile=ops
  https://example.com/path
[profile empty-first]
credential_process =
  /opt/bin/dropped
region = us-east-1
`,
		want: map[string]string{
			"proc.CredentialProcess":        "/opt/bin/helper\n--account 111111111111\n--verbose",
			"promoted.CredentialProcess":    "/opt/bin/helper",
			"empty-first.CredentialProcess": "",
		},
	},
	{
		name: "sub-properties and orphans",
		config: `[profile sub]
  region = eu-west-2 ; an orphan at the section's start is a property
s3 =
  endpoint_url = http://localhost:4566 ; stays in the sub-property
  addressing_style = path
role_arn = arn:aws:iam::111111111111:role/S
  external_id = "x" ; promoted, comment cut, quotes kept
credential_source = Ec2InstanceMetadata
`,
		want: map[string]string{
			"sub.Region": "eu-west-2", "sub.ExternalID": `"x"`,
			"sub.RoleARN": "arn:aws:iam::111111111111:role/S",
		},
	},
	{
		name: "promoted sub-property keeps quotes after a comment",
		config: `[profile p]
role_arn = arn:aws:iam::111111111111:role/P
  external_id = "quoted" ; c
  role_session_name = "plain"
credential_source = Environment
`,
		want: map[string]string{"p.ExternalID": `"quoted"`, "p.RoleSessionName": "plain"},
	},
	{
		name: "duplicate sections and keys",
		config: `[profile d]
region = us-east-1
role_arn = arn:aws:iam::111111111111:role/First
credential_source = Environment
[profile other]
region = eu-west-1
[profile d]
region = us-west-1
region = us-west-2
`,
		credentials: `[k]
aws_access_key_id = AKIA1
aws_secret_access_key = s1
[k]
aws_access_key_id = AKIA2
`,
		want: map[string]string{
			"d.Region": "us-west-2", "d.RoleARN": "arn:aws:iam::111111111111:role/First",
			"k.AccessKeyID": "AKIA2", "k.SecretAccessKey": "s1",
		},
	},
	{
		name: "bare section in the config file",
		config: `[bare]
region = eu-west-1
[both]
region = us-east-1
output = text
[profile both]
role_arn = arn:aws:iam::111111111111:role/B
credential_source = Environment
[profile zz]
region = ap-east-1
[zz]
region = dropped
`,
		want: map[string]string{"both.Region": "", "both.RoleARN": "arn:aws:iam::111111111111:role/B", "zz.Region": "ap-east-1"},
		try:  []string{"bare"},
	},
	{
		name:   "profile prefix in the credentials file",
		config: "[profile cfgonly]\nregion = eu-west-1\n",
		credentials: `[profile cfgonly]
aws_access_key_id = AKIANO
aws_secret_access_key = sno
[profile credsonly]
aws_access_key_id = AKIANO
aws_secret_access_key = sno
[plain]
aws_access_key_id = AKIAP
aws_secret_access_key = sp
`,
		want: map[string]string{"cfgonly.AccessKeyID": "", "plain.AccessKeyID": "AKIAP"},
		try:  []string{"credsonly"},
	},
	{
		name: "default and profile default",
		config: `[default]
region = us-east-1
output = json
[profile default]
region = eu-west-1
[Default]
region = ap-southeast-1
`,
		credentials: `[default]
aws_access_key_id = AKIADEF
aws_secret_access_key = sdef
`,
		want: map[string]string{"default.Region": "eu-west-1", "default.AccessKeyID": "AKIADEF", "Default.Region": "ap-southeast-1"},
	},
	{
		name: "sso sessions and legacy sso",
		config: `[profile sso]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = ShuffleOperator
region = eu-west-1
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start ; portal
sso_region = eu-west-1
sso_registration_scopes = sso:account:access
[profile spaced-session]
sso_session = spaced
sso_account_id = 222222222222
sso_role_name = R
[sso-session    spaced]
sso_start_url = https://spaced.awsapps.com/start
sso_region = us-east-1
[profile legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-2
sso_account_id = 333333333333
sso_role_name = Legacy
[profile missing-session]
sso_session = nowhere
[SSO-Session upper]
sso_region = eu-west-1
`,
		credentials: `[sso-session fromcreds]
sso_start_url = https://creds.awsapps.com/start
sso_region = eu-west-2
[uses-creds-session]
sso_session = fromcreds
sso_account_id = 444444444444
sso_role_name = C
`,
		want: map[string]string{
			"sso.SSOSessionName": "corp", "sso.SessionSSOStartURL": "https://corp.awsapps.com/start",
			"sso.SSOAccountID": "111111111111", "legacy.SSOStartURL": "https://legacy.awsapps.com/start",
			"spaced-session.SessionSSORegion":     "us-east-1",
			"uses-creds-session.SessionSSORegion": "eu-west-2",
		},
		try: []string{"sso-session corp", "sso-session spaced", "sso-session upper", "sso-session fromcreds", "corp"},
	},
	{
		name: "services sections",
		config: `[default]
services = local
endpoint_url = http://localhost:9000
[services local]
sts =
  endpoint_url = http://localhost:9000/sts
sso =
  endpoint_url = http://localhost:9000/sso ; kept in a sub-property
plain = value
[profile other]
services = absent
`,
		want: map[string]string{"default.BaseEndpoint": "http://localhost:9000", "default.ServicesSectionName": "local"},
		try:  []string{"services local", "services absent", "local"},
	},
	{
		name: "credentials file overrides the config file",
		config: `[profile p]
region = eu-west-1
aws_access_key_id = AKIACFG
aws_secret_access_key = scfg
aws_session_token = tokcfg
endpoint_url = http://config
[profile q]
region = us-east-1
aws_access_key_id = AKIAQCFG
aws_secret_access_key = sqcfg
[profile half]
aws_access_key_id = AKIAHALFCFG
aws_secret_access_key = shalfcfg
[profile partial]
region = eu-west-1
`,
		credentials: `[p]
aws_access_key_id = AKIACRED
aws_secret_access_key = scred
region = us-west-2
endpoint_url = http://dropped
[q]
aws_session_token = tok-alone
role_arn = arn:aws:iam::111111111111:role/Q
source_profile = p
[half]
aws_access_key_id = AKIAHALF
[partial]
aws_secret_access_key = only-secret
`,
		want: map[string]string{
			"p.AccessKeyID": "AKIACRED", "p.SecretAccessKey": "scred", "p.SessionToken": "tokcfg",
			"p.Region": "us-west-2", "p.BaseEndpoint": "http://config",
			"q.RoleARN": "arn:aws:iam::111111111111:role/Q",
		},
	},
	{
		name: "assume role chains",
		config: `[profile operator]
role_arn = arn:aws:iam::111111111111:role/Operator
source_profile = middle
role_session_name = shuffle
external_id = ext-1
mfa_serial = arn:aws:iam::000000000000:mfa/me
region = eu-west-1
[profile middle]
role_arn = arn:aws:iam::000000000000:role/Middle
source_profile = base
aws_access_key_id = AKIAIGNORED
aws_secret_access_key = signored
[profile web]
role_arn = arn:aws:iam::111111111111:role/Web
web_identity_token_file = /var/run/token
[profile instance]
role_arn = arn:aws:iam::111111111111:role/Inst
credential_source = Ec2InstanceMetadata
[profile no-arn]
credential_source = Environment
[profile dangling]
role_arn = arn:aws:iam::111111111111:role/D
source_profile = nowhere
[profile self]
role_arn = arn:aws:iam::111111111111:role/Self
source_profile = self
aws_access_key_id = AKIASELF
aws_secret_access_key = sself
`,
		credentials: `[base]
aws_access_key_id = AKIABASE
aws_secret_access_key = sbase
`,
		want: map[string]string{
			"operator.SourceProfileName": "middle", "middle.AccessKeyID": "",
			"web.WebIdentityTokenFile": "/var/run/token", "instance.CredentialSource": "Ec2InstanceMetadata",
		},
	},
	{
		name: "refresher expiry formats",
		config: `[profile cfgexp]
region = eu-west-1
`,
		credentials: `[rfc-z]
aws_access_key_id = ASIA1
aws_secret_access_key = s1
aws_session_token = t1
x_security_token_expires = 2026-12-06T17:00:00Z
[rfc-plus]
aws_access_key_id = ASIA2
aws_secret_access_key = s2
x_security_token_expires = 2026-12-06T18:00:00+01:00
[rfc-minus-frac]
aws_access_key_id = ASIA3
aws_secret_access_key = s3
x_security_token_expires = 2026-12-06T12:00:00.000-05:00 ; saml2aws
[space]
aws_access_key_id = ASIA4
aws_secret_access_key = s4
x_security_token_expires = 2026-12-06 17:00:00+00:00
[epoch]
aws_access_key_id = ASIA5
aws_secret_access_key = s5
expiration = 1796576400
[millis]
aws_access_key_id = ASIA6
aws_secret_access_key = s6
aws_expiration = "1796576400000"
[order]
aws_access_key_id = ASIA7
aws_secret_access_key = s7
expiration = 1
aws_expiration = 2
x_security_token_expires = 2026-12-06T17:00:00Z
[cfgexp]
aws_access_key_id = ASIA8
aws_secret_access_key = s8
x_security_token_expires = 2026-12-06T17:00:00Z
[none]
aws_access_key_id = ASIA9
aws_secret_access_key = s9
`,
		want: map[string]string{"rfc-minus-frac.AccessKeyID": "ASIA3", "cfgexp.Region": "eu-west-1", "cfgexp.AccessKeyID": "ASIA8"},
		expiry: map[string]int64{
			"rfc-z": 1796576400, "rfc-plus": 1796576400, "rfc-minus-frac": 1796576400, "space": 1796576400,
			"epoch": 1796576400, "millis": 1796576400, "order": 1796576400, "cfgexp": 1796576400, "none": 0,
		},
	},
	{
		name: "expiry travels with the keys",
		config: `[profile stale]
aws_access_key_id = AKIAOLD
aws_secret_access_key = sold
x_security_token_expires = 2020-01-01T00:00:00Z
[profile kept]
aws_access_key_id = AKIAKEPT
aws_secret_access_key = skept
expiration = 1796576400
`,
		credentials: `[stale]
aws_access_key_id = ASIANEW
aws_secret_access_key = snew
[kept]
region = eu-west-1
x_security_token_expires = 2020-01-01T00:00:00Z
`,
		want:   map[string]string{"stale.AccessKeyID": "ASIANEW", "kept.AccessKeyID": "AKIAKEPT", "kept.Region": "eu-west-1"},
		expiry: map[string]int64{"stale": 0, "kept": 1796576400},
	},
	{
		name:   "global properties, empty headers and a BOM",
		config: "\ufeff[default]\nregion = lost-to-the-bom\n[profile after]\nregion = eu-west-1\n",
		credentials: `aws_access_key_id = AKIAGLOBAL
aws_secret_access_key = sglobal
[]
aws_access_key_id = AKIAEMPTY
aws_secret_access_key = sempty
[after]
aws_access_key_id = AKIAAFTER
aws_secret_access_key = safter
`,
		want: map[string]string{"after.Region": "eu-west-1", "after.AccessKeyID": "AKIAAFTER"},
		try:  []string{"default"},
	},
	{
		name: "lines that are no property",
		config: `[profile odd]
region eu-west-1
=no-key
region = us-east-1
just some words
`,
		want: map[string]string{"odd.Region": "us-east-1"},
	},
	{
		name: "conflicting credential kinds",
		config: `[profile both]
credential_process = /bin/helper
credential_source = Environment
role_arn = arn:aws:iam::111111111111:role/B
[profile process]
credential_process = /bin/helper --json
region = eu-west-1
`,
		want: map[string]string{"process.CredentialProcess": "/bin/helper --json"},
	},
	{
		name: "sso-session and services sections in both files",
		config: `[sso-session both]
sso_start_url = https://config.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access
[services both]
sts =
  endpoint_url = http://config/sts
[profile user]
sso_session = both
sso_account_id = 111111111111
sso_role_name = R
services = both
`,
		credentials: `[sso-session both]
sso_region = us-east-1
sso_start_url = https://creds.awsapps.com/start
[services both]
sts =
  endpoint_url = http://creds/sts
sso =
  endpoint_url = http://creds/sso
`,
		want: map[string]string{"user.SessionSSORegion": "us-east-1", "user.SessionSSOStartURL": "https://creds.awsapps.com/start"},
		try:  []string{"sso-session both", "services both"},
	},
	{
		name:     "no config file",
		noConfig: true,
		credentials: `[default]
aws_access_key_id = AKIAONLY
aws_secret_access_key = sonly
region = eu-west-1
`,
		want: map[string]string{"default.AccessKeyID": "AKIAONLY", "default.Region": "eu-west-1"},
	},
}
