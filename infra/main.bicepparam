// Parameters of main.bicep; values come from the environment so the same file serves `az deployment`
// and `azd up` (which sets AZURE_ENV_NAME and AZURE_LOCATION). Every other parameter has a default:
// see main.bicep's descriptions, and README "Deploy".
using './main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'defender-export')
param location = readEnvironmentVariable('AZURE_LOCATION', 'westeurope')
param existingEventHubNamespaceId = readEnvironmentVariable('DEFENDER_EXPORT_EVENTHUB_NAMESPACE_ID', '')
param existingWorkspaceId = readEnvironmentVariable('DEFENDER_EXPORT_WORKSPACE_ID', '')
param bulkTablePlan = readEnvironmentVariable('DEFENDER_EXPORT_BULK_TABLE_PLAN', 'none')
param securityProviderPrincipalId = readEnvironmentVariable('DEFENDER_EXPORT_SECURITY_PROVIDER_PRINCIPAL_ID', '')
param alertEmail = readEnvironmentVariable('DEFENDER_EXPORT_ALERT_EMAIL', '')
param coverageWebhookUrl = readEnvironmentVariable('COVERAGE_WEBHOOK_URL', '')
param coverageRemediate = bool(readEnvironmentVariable('COVERAGE_REMEDIATE', 'false'))
