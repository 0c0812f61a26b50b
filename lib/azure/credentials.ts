import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';

/** The settings that choose a credential (read by lib/config.ts). */
export interface IdentitySettings {
  /** A fixed token for the local stand-ins (LOCAL_DEV_BEARER_TOKEN); never used against Azure. */
  LOCAL_DEV_BEARER_TOKEN?: string | undefined;
  /** The user-assigned managed identity (AZURE_CLIENT_ID). */
  AZURE_CLIENT_ID?: string | undefined;
}

class StaticTokenCredential implements TokenCredential {
  constructor(private readonly token: string) {}
  async getToken(): Promise<AccessToken> {
    return { token: this.token, expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

/**
 * A credential for Azure clients: a managed identity in Azure (the user-assigned one named by `clientId` or
 * AZURE_CLIENT_ID, else the system-assigned one), the developer's login locally, or the static
 * LOCAL_DEV_BEARER_TOKEN when talking to the local stand-ins. Use AzureClients, which shares them.
 */
export function credentialFor(settings: IdentitySettings, clientId?: string): TokenCredential {
  const localToken = settings.LOCAL_DEV_BEARER_TOKEN?.trim();
  if (localToken) return new StaticTokenCredential(localToken);
  if (clientId) return new ManagedIdentityCredential({ clientId });
  const userAssigned = settings.AZURE_CLIENT_ID?.trim();
  return new DefaultAzureCredential(userAssigned ? { managedIdentityClientId: userAssigned } : {});
}
