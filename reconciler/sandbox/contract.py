"""The simulator's own table of the contract: per type, every config field with its kind, whether it is
required (also per authenticationType), its server default, whether it is a secret; the natural key, the
immutable fields, the credentials DELETE needs. Written from `docs/immuta-api.md` §3, §3.1,
§3.2, §5 and the §7 corrections — never from `schemas/`: tests/test_sandbox_contract.py compares the two.

`[inferred]` marks a rule the document implies without stating it (a method cannot work without it).
"""

from __future__ import annotations

from reconciler.sandbox.fields import (
    NOT_TRUE,
    Field,
    Rule,
    TypeContract,
    choice,
    documented_defaults,
    field_at,
    flag,
    group,
    port,
    secret,
    secret_paths,
    strings,
    text,
    walk,
)

__all__ = ["NOT_TRUE", "TYPES", "TYPE_NAMES", "Field", "TypeContract", "documented_defaults", "field_at"]
__all__ += ["secret_paths", "walk"]


def _auth(method: str, *paths: str) -> Rule:
    return Rule((("config.authenticationType", method),), tuple(f"config.{p}" for p in paths))


_HOST = r"^[^/:\s]+$"  # a hostname: no scheme, port or path

SNOWFLAKE = TypeContract(
    "Snowflake",
    {
        "host": text(required=True, pattern=_HOST),
        "warehouse": text(required=True),
        "database": text(required=True),
        "port": port(443),
        "role": text(),
        "authenticationType": choice("userPassword", "keyPair", "oAuthClientCredentials", required=True),
        "username": text(),
        "password": secret(),
        # §7: keyName is always PRIV_KEY_FILE
        "privateKey": group(keyName=choice("PRIV_KEY_FILE"), userFilename=text(), content=secret()),
        "privateKeyPassword": secret(),
        "oAuthClientConfig": group(
            provider=text(),
            clientId=text(),
            authorityUrl=text(),
            scope=text(),
            useCertificate=flag(),
            clientSecret=secret(),
            publicCertificateThumbprint=text(),
            oauthPrivateKey=secret(),
            resource=text(),
        ),
        "audit": group(enabled=flag(False)),
        "impersonation": group(enabled=flag(False), role=text()),
        "workspaces": group(enabled=flag(False), warehouses=strings()),
        "lineage": group(
            enabled=flag(False),
            lineageConfig=group(
                tableFilter=text(), tagFilterRegex=text(), ingestBatchSize=Field("integer", maximum=None)
            ),
        ),
        "userRolePattern": group(exclude=strings()),
    },
    natural_key=("config.host",),
    immutable=("config.host", "config.database"),
    rules=(
        _auth("userPassword", "username", "password"),
        # §7: keyName, userFilename and content are all needed
        _auth(
            "keyPair", "username", "privateKey", "privateKey.keyName", "privateKey.userFilename", "privateKey.content"
        ),
        # §7: useCertificate is needed; §9.9: provider is required; [inferred] a client-credentials flow needs
        # an id and a token endpoint, and either a certificate or a secret
        _auth(
            "oAuthClientCredentials",
            "oAuthClientConfig",
            "oAuthClientConfig.provider",
            "oAuthClientConfig.clientId",
            "oAuthClientConfig.authorityUrl",
            "oAuthClientConfig.useCertificate",
        ),
        Rule(
            (
                ("config.authenticationType", "oAuthClientCredentials"),
                ("config.oAuthClientConfig.useCertificate", True),
            ),
            ("config.oAuthClientConfig.publicCertificateThumbprint", "config.oAuthClientConfig.oauthPrivateKey"),
        ),
        Rule(
            (
                ("config.authenticationType", "oAuthClientCredentials"),
                ("config.oAuthClientConfig.useCertificate", NOT_TRUE),
            ),
            ("config.oAuthClientConfig.clientSecret",),
        ),
    ),
    delete_fields=("username", "password", "role", "privateKey", "privateKeyPassword", "oAuthClientConfig"),
    delete_required={
        "userPassword": ("username", "password"),
        "keyPair": ("username", "privateKey"),
        "oAuthClientCredentials": ("oAuthClientConfig",),
    },
    # §3.1: "Only host, warehouse, database, port, the authentication fields and audit are confirmed"
    confirmed=frozenset(
        {"host", "warehouse", "database", "port", "role", "authenticationType", "username", "privateKey"}
        | {"oAuthClientConfig", "audit"}
    ),
)

DATABRICKS = TypeContract(
    "Databricks",
    {
        "workspaceUrl": text(required=True, pattern=_HOST),
        "httpPath": text(required=True),
        "authenticationType": choice("token", "oAuthM2M", required=True),
        "token": secret(),
        "oAuthClientConfig": group(
            useCertificate=flag(), clientId=text(), clientSecret=secret(), scope=text(), authorityUrl=text()
        ),
        "catalog": text(required=True, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"),
        "port": port(443),
        "audit": group(enabled=flag()),
        "groupPattern": group(deny=text()),
        "additionalWorkspaceConnections": Field("array", items=Field("object")),
        "proxyOptions": group(host=text(pattern=_HOST), port=port(None), username=text(), password=secret()),
    },
    natural_key=("config.workspaceUrl",),
    immutable=("config.workspaceUrl", "config.catalog"),
    rules=(
        _auth("token", "token"),
        _auth(
            "oAuthM2M",
            "oAuthClientConfig",
            "oAuthClientConfig.clientId",
            "oAuthClientConfig.scope",
            "oAuthClientConfig.authorityUrl",
        ),
        Rule(
            (("config.authenticationType", "oAuthM2M"), ("config.oAuthClientConfig.useCertificate", NOT_TRUE)),
            ("config.oAuthClientConfig.clientSecret",),
        ),
    ),
    confirmed=frozenset({"workspaceUrl", "httpPath", "authenticationType", "oAuthClientConfig", "catalog"}),
)

REDSHIFT = TypeContract(
    "Redshift",
    {
        "host": text(required=True, pattern=_HOST),
        "port": port(5439),
        "database": text(required=True),
        "initialDatabase": text(),
        "authenticationType": choice("userPassword", "okta", required=True),
        "username": text(),
        "password": secret(),
        "impersonation": group(enabled=flag(False), role=text()),
    },
    natural_key=("config.host", "config.database"),
    immutable=("config.host", "config.database"),
    rules=(
        Rule((("autoBootstrap", True),), ("config.initialDatabase",)),
        _auth("userPassword", "username", "password"),  # [inferred]
    ),
    delete_fields=("username", "password"),
    delete_required={"userPassword": ("username", "password")},
    confirmed=frozenset({"host", "port", "database", "initialDatabase", "authenticationType", "username"}),
    setup_scripts=("initial-create",),
)

SYNAPSE = TypeContract(
    "Azure Synapse Analytics",
    {
        "host": text(required=True, pattern=_HOST),
        "database": text(required=True),
        "schema": text(required=True),
        # §7: a second method (OAuth with Microsoft Entra ID) exists; its name and fields are not readable,
        # so any method is accepted and only userPassword's fields are checked.
        "authenticationType": text(required=True),
        "username": text(),
        "password": secret(),
        "port": port(1433),
        # [inferred] (false d) like every other impersonation flag of §3.1: Synapse's line omits it
        "impersonation": group(enabled=flag(False), role=text()),
        "metadataDelimiters": group(
            hashDelimiter=Field("string", default="|"),
            hashKeyDelimiter=Field("string", default=":"),
            arrayDelimiter=Field("string", default=","),
        ),
    },
    natural_key=("config.host", "config.database", "config.schema"),
    immutable=("config.host", "config.database", "config.schema", "config.metadataDelimiters"),
    rules=(_auth("userPassword", "username", "password"),),
    delete_fields=("username", "password"),
    delete_required={"userPassword": ("username", "password")},
    confirmed=frozenset({"host", "database", "schema", "authenticationType", "username", "port"}),
    setup_scripts=("initial-create", "post-cleanup"),
)

BIGQUERY = TypeContract(
    "Google BigQuery",
    {
        # [inferred] every field is required: the guide's payload sends all five, and none has a default
        "role": text(required=True),
        "datasetSuffix": text(required=True, pattern=r"^_"),
        "dataset": text(required=True),
        # §7: "any valid GCP location": a region (us-east1), a multi-region (US, EU), a dual-region (nam4), a
        # BigQuery Omni location (aws-us-east-1): letters, digits and hyphens, a letter first, no hyphen last
        "location": text(required=True, pattern=r"^[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]$"),
        "credential": secret(required=True),
    },
    natural_key=("config.dataset", "config.location"),
    immutable=("config.dataset", "config.location"),
    auto_bootstrap="false",
)

NATIVE_S3 = TypeContract(
    "Native S3",
    {
        "name": text(required=True),
        "awsAccountId": text(required=True),  # §7: no documented pattern
        "awsRegion": text(required=True),
        "awsLocationRole": text(required=True),
        "awsLocationPath": text(required=True),
        "authenticationType": choice("auto", "accessKey", required=True),
        # §7: "required when auto" in the table, omitted by the auto example: a server evidently accepts
        # its absence, so the simulator does
        "awsRoleToAssume": text(),
        "awsAccessKeyId": secret(),
        "awsSecretAccessKey": secret(),
        # §7: `port` is in neither the field table nor the examples: it has no default; a body that sends
        # one is still accepted (a newer release may know it), and GET reports what was sent
        "port": port(None),
    },
    natural_key=("config.name",),
    immutable=("config.name",),
    auto_bootstrap="false",
    rules=(_auth("accessKey", "awsAccessKeyId", "awsSecretAccessKey"),),
    unique=("config.awsLocationPath",),
)

TRINO = TypeContract("Trino", None, natural_key=(), immutable=("*",), auto_bootstrap="absent")

TYPES: dict[str, TypeContract] = {
    t.name: t for t in (SNOWFLAKE, DATABRICKS, REDSHIFT, SYNAPSE, BIGQUERY, NATIVE_S3, TRINO)
}
TYPE_NAMES = tuple(TYPES)
