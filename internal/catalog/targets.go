// SPDX-License-Identifier: Apache-2.0

package catalog

// The target types the built-in catalog names. Producers may send targets
// of other types too; these are the ones rules and templates refer to.
const (
	TargetOrg           = "org"            // an organization
	TargetUser          = "user"           // a member (a person's account)
	TargetRepo          = "repo"           // a model, dataset or Space repository, named like acme/llama
	TargetSpace         = "space"          // a Space, when sent apart from its repository
	TargetCollection    = "collection"     // a collection of repositories
	TargetToken         = "token"          // an access token
	TargetResourceGroup = "resource_group" // a resource group
	TargetSecret        = "secret"         // a repository secret (by name)
	TargetVariable      = "variable"       // a repository variable (by name)
	TargetJob           = "job"            // a job run
	TargetScheduledJob  = "scheduled_job"  // a scheduled job
	TargetSubscription  = "subscription"   // a billing subscription
	TargetPaymentMethod = "payment_method" // a payment method
	TargetMarketplace   = "marketplace"    // a cloud marketplace account (AWS, GCP)
	TargetEmail         = "email"          // an email address (an invitee without an account)
	TargetDomain        = "domain"         // an email or network domain
	TargetProviderKey   = "provider_key"   // an inference provider API key (by name)
)

// vocabulary describes each target type of the built-in vocabulary and
// the words that stand in for a missing target of that type.
var vocabulary = []struct{ Type, Doc, Word string }{
	{TargetOrg, "an organization", "the organization"},
	{TargetUser, "a member, or any person's account", "a member"},
	{TargetRepo, "a model, dataset or Space repository, named like acme/llama", "a repository"},
	{TargetSpace, "a Space, when sent apart from its repository", "a Space"},
	{TargetCollection, "a collection", "a collection"},
	{TargetToken, "an access token", "a token"},
	{TargetResourceGroup, "a resource group", "a resource group"},
	{TargetSecret, "a repository secret, by name", "a secret"},
	{TargetVariable, "a repository variable, by name", "a variable"},
	{TargetJob, "a job run", "a job"},
	{TargetScheduledJob, "a scheduled job", "a scheduled job"},
	{TargetSubscription, "a billing subscription", "the subscription"},
	{TargetPaymentMethod, "a payment method", "a payment method"},
	{TargetMarketplace, "a cloud marketplace account (AWS, Google Cloud)", "a cloud marketplace account"},
	{TargetEmail, "an email address, such as an invitee without an account", "an email address"},
	{TargetDomain, "an email or network domain", "a domain"},
	{TargetProviderKey, "an inference provider API key, by name", "a provider key"},
}

// TargetTypes returns the target types of the built-in vocabulary, in the
// order of the constants above. The slice is the caller's.
func TargetTypes() []string {
	out := make([]string, len(vocabulary))
	for i, v := range vocabulary {
		out[i] = v.Type
	}
	return out
}

// NeutralWord returns what a description says for a missing target of
// that type: "a member" for user, "a repository" for repo, "something"
// for a type outside the vocabulary.
func NeutralWord(targetType string) string {
	for _, v := range vocabulary {
		if v.Type == targetType {
			return v.Word
		}
	}
	return "something"
}
