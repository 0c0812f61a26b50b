import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';

/** A fixed token for local stand-ins (LOCAL_DEV_BEARER_TOKEN); never used against Azure. */
class StaticTokenCredential implements TokenCredential {
  constructor(private readonly token: string) {}
  async getToken(): Promise<AccessToken> {
    return { token: this.token, expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

/**
 * The credential every Azure client uses: a managed identity in Azure (the user-assigned one named by
 * `clientId` or AZURE_CLIENT_ID, else the system-assigned one), the developer's login locally, or the
 * static LOCAL_DEV_BEARER_TOKEN when talking to the local stand-ins.
 */
export function credentialFor(env: NodeJS.ProcessEnv, clientId?: string): TokenCredential {
  const localToken = env.LOCAL_DEV_BEARER_TOKEN?.trim();
  if (localToken) return new StaticTokenCredential(localToken);
  if (clientId) return new ManagedIdentityCredential({ clientId });
  const userAssigned = env.AZURE_CLIENT_ID?.trim();
  return new DefaultAzureCredential(userAssigned ? { managedIdentityClientId: userAssigned } : {});
}
