package luabind

import "github.com/shuffle-migrate/shuffle/engine/scriptconfig"

// The types of what a script declares live in engine/scriptconfig, a
// leaf package the engine reads them from without Lua; luabind fills
// them from Lua tables. These names stay for luabind's callers.
type (
	// ScriptConfig is what the operator's script declares with
	// shuffle.config.
	ScriptConfig = scriptconfig.Config
	// Endpoint is one side of the migration.
	Endpoint = scriptconfig.Endpoint
	// PolicyConfig says which policy modules apply.
	PolicyConfig = scriptconfig.PolicyConfig
	// Budgets bound the Lua work of one policy call, or of one stretch
	// of the operator's script between two shuffle calls.
	Budgets = scriptconfig.Budgets
	// CopyArgs are the options of shuffle.copy{...}.
	CopyArgs = scriptconfig.CopyArgs
	// ConfigError is a field of a table passed from Lua (shuffle.config's
	// argument, or an rp or vault table in a policy test) that is missing
	// or has the wrong type or value.
	ConfigError = scriptconfig.FieldError
)
