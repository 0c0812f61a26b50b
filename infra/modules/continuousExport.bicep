// One subscription's Defender for Cloud continuous export to an Event Hub in trusted-service mode: the
// Defender for Cloud resource provider sends with its own identity (it needs Azure Event Hubs Data Sender on
// the hub: main.bicep's securityProviderPrincipalId), so no connection string is stored. The same shape
// `COVERAGE_REMEDIATE` writes, and the reconciler reports Covered for it.
@description('Automation name.')
param name string = 'exportToEventHub'

@description('Region of the automation resource.')
param location string = resourceGroup().location

@description('Resource id of the event hub to send to.')
param eventHubResourceId string

@description('Sources to export (every one by default, each with its weekly snapshot).')
param sources string[] = [
  'Alerts'
  'Assessments'
  'AssessmentsSnapshot'
  'SubAssessments'
  'SubAssessmentsSnapshot'
  'SecureScores'
  'SecureScoresSnapshot'
  'SecureScoreControls'
  'SecureScoreControlsSnapshot'
  'RegulatoryComplianceAssessment'
  'RegulatoryComplianceAssessmentSnapshot'
  'AttackPaths'
  'AttackPathsSnapshot'
]

@description('Tags.')
param tags { *: string } = {}

resource automation 'Microsoft.Security/automations@2023-12-01-preview' = {
  name: name
  location: location
  tags: union(tags, { managedBy: 'defender-export' })
  properties: {
    description: 'Continuous export of Defender for Cloud data to the defender-export Event Hub.'
    isEnabled: true
    scopes: [{ description: 'The whole subscription', scopePath: subscription().id }]
    sources: [for source in sources: { eventSource: source }]
    actions: [{ actionType: 'EventHub', eventHubResourceId: eventHubResourceId, isTrustedServiceEnabled: true }]
  }
}

@description('Resource id of the automation.')
output id string = automation.id
