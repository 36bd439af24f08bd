namespace Igia.Smart.Protocol;

/// <summary>How a SMART client authenticates at the token endpoint.</summary>
public enum SmartClientAuthentication
{
    /// <summary>A public client: no secret, only <c>client_id</c> in the request body (and PKCE).</summary>
    Public,

    /// <summary>A confidential-symmetric client: <c>client_id</c> and secret in an HTTP Basic <c>Authorization</c> header (<c>client_secret_basic</c>).</summary>
    ClientSecretBasic,

    /// <summary>A confidential-asymmetric client: a JWT signed with the client's private key (<c>private_key_jwt</c>, RS384 or ES384).</summary>
    PrivateKeyJwt,
}
