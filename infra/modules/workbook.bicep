// The "Defender export" workbook (infra/workbooks/defender-export.workbook.json): pipeline health and
// coverage, over the workspace.
@description('Region.')
param location string

@description('Tags.')
param tags { *: string }

@description('Workspace the workbook queries.')
param workspaceId string

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, 'defender-export-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Defender export'
    category: 'workbook'
    sourceId: workspaceId
    // The workspace as fallback resource, so the queries have one wherever the workbook is opened from.
    serializedData: replace(loadTextContent('../workbooks/defender-export.workbook.json'), '"fallbackResourceIds": []', '"fallbackResourceIds": ["${workspaceId}"]')
    version: 'Notebook/1.0'
  }
}

@description('Resource id of the workbook.')
output id string = workbook.id
