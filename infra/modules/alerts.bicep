// Azure Monitor log alerts: a subscription whose continuous export has a gap (from the Coverage rows the
// reconciler writes), the pipeline broken (from its PipelineHealth rows), and events that were parked or
// dead-lettered (from each batch's ledger line in AppTraces). All notify one action group (email and/or
// webhook).
@description('Suffix of the alert resource names.')
param name string

@description('Region of the alert rules.')
param location string

@description('Tags.')
param tags { *: string }

@description('Workspace the rules query.')
param workspaceId string

@description('Email receiver; empty for none.')
param email string

@secure()
@description('Webhook receiver (common alert schema); empty for none.')
param webhookUrl string

@description('Look-back of the coverage rule: at least twice the period of COVERAGE_SCHEDULE (default every 6 hours).')
param coverageWindow string = 'PT12H'

@description('An action group is created when there is someone to notify.')
var notify = !empty(email) || !empty(webhookUrl)

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (notify) {
  name: 'ag-${name}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'defexport'
    enabled: true
    emailReceivers: empty(email) ? [] : [{ name: 'email', emailAddress: email, useCommonAlertSchema: true }]
    webhookReceivers: empty(webhookUrl) ? [] : [{ name: 'webhook', serviceUri: webhookUrl, useCommonAlertSchema: true }]
  }
}

@description('The log alert rules.')
var rules = [
  {
    name: 'coverage-gap'
    displayName: 'Defender continuous export coverage gap'
    description: 'A subscription\'s continuous export is missing, disabled, misdirected, incomplete, filtered, partial, silent, has never delivered data, or is unreadable (not while Resource Manager is unreachable: the last judged status stands). The alert names the subscription and status; run DefenderExportCoverage() for the reason.'
    severity: 2
    evaluationFrequency: 'PT1H'
    windowSize: coverageWindow
    query: loadTextContent('../kql/alert-coverage-gaps.kql')
    dimensions: ['AzureSubscriptionId', 'State']
  }
  {
    name: 'pipeline-broken'
    displayName: 'Defender export pipeline broken'
    description: 'The pipeline\'s own health check failed: nothing has arrived for longer than COVERAGE_STALE_AFTER_HOURS, parked items have waited over a day, or the data collection rule no longer matches the row. Run defender-export doctor for every check and its fix.'
    severity: 1
    evaluationFrequency: 'PT1H'
    windowSize: coverageWindow
    query: loadTextContent('../kql/alert-pipeline-broken.kql')
    dimensions: ['State']
  }
  {
    name: 'undelivered'
    displayName: 'Defender export events parked or dead-lettered'
    description: 'Events could not be delivered (parked: retried by redriveParked) or were refused (dead-lettered: see the dead-letter container for each reason).'
    severity: 1
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    query: loadTextContent('../kql/alert-undelivered.kql')
    dimensions: ['OperationName']
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = [
  for rule in rules: {
    name: 'alert-${rule.name}-${name}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [workspaceId]
      evaluationFrequency: rule.evaluationFrequency
      windowSize: rule.windowSize
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            dimensions: [for d in rule.dimensions: { name: d, operator: 'Include', values: ['*'] }]
            failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
          }
        ]
      }
      autoMitigate: true
      // The coverage rule queries DefenderExport_CL, created minutes earlier by workspaceContent; a new
      // table's schema can take a while to reach the query service, and validation would then refuse the
      // rule. main.bicep orders this module after the table; CI analyses every rule's query against the
      // table's schema (test/unit/kql.test.ts), so the service's own check adds nothing but the race.
      skipQueryValidation: true
      actions: { actionGroups: notify ? [actionGroup.id] : [] }
    }
  }
]
