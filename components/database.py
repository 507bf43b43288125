"""Cloud SQL for PostgreSQL: one private instance (regional HA where configured), an optional
read replica, the application database, its admin user and the IAM database users.

Nothing here is reachable from the internet: the instance has a private IP only, on the VPC's
private services range, and every connection must be encrypted. Workloads log in with IAM
database authentication (their service account is the user); the built-in admin user, with a
generated password, is for migrations and break-glass access.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from components.encryption import CustomerKey
from components.options import child_options
from stackconfig.connections import default_max_connections
from stackconfig.platform import DatabaseConfig

REQUIRED_APIS = ("sqladmin.googleapis.com",)
ADMIN_USER = "omni"
SERVICE_ACCOUNT_SUFFIX = ".gserviceaccount.com"
# A statement slower than this (ms) is logged with its text: slow queries show up in Cloud
# Logging next to the request that ran them. Query Insights shows them too, aggregated.
SLOW_STATEMENT_MS = 1000
# A query that spills more than this (kB) to temporary files is logged: work_mem is too small
# for it, or it is missing an index.
TEMP_FILE_LOG_KB = 10240
# Cloud SQL's automated backup window is four hours from its start time; ending it an hour
# before the maintenance window keeps the two from overlapping.
BACKUP_WINDOW_HOURS = 4
# Letters, digits and two characters that are unreserved in URLs (RFC 3986), so the password
# goes into a `postgresql://` URL, a libpq keyword string or a shell without quoting.
PASSWORD_LENGTH = 40
PASSWORD_SPECIAL = "-_"


def pem_bundle(certs: Sequence[gcp.sql.outputs.DatabaseInstanceServerCaCert] | None) -> str:
    """The instance's server CA certificates as one PEM file (two during a CA rotation).
    Not a secret: a CA certificate holds a public key only."""
    return "".join(f"{cert.cert.strip()}\n" for cert in certs or () if cert.cert)


def database_password(name: str, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """A generated password for a built-in PostgreSQL user, as a secret Output."""
    password = random.RandomPassword(
        name,
        length=PASSWORD_LENGTH,
        special=True,
        override_special=PASSWORD_SPECIAL,
        min_lower=2,
        min_upper=2,
        min_numeric=2,
        opts=opts,
    )
    # The Pulumi engine marks RandomPassword's `result` secret from the resource's additional
    # secret outputs; marking it here as well keeps it secret wherever it flows even where no
    # engine applies them (the offline engine's mock runtime).
    return pulumi.Output.secret(password.result)


@dataclass(frozen=True)
class PasswordUser:
    """A built-in PostgreSQL user and its generated password (a secret Output)."""

    user: gcp.sql.User
    password: pulumi.Output[str]


def password_user(
    resource_name: str,
    *,
    user_name: str,
    instance: pulumi.Input[str],
    protect: bool,
    password_name: str,
    password_opts: pulumi.ResourceOptions,
    opts: pulumi.ResourceOptions,
) -> PasswordUser:
    """A built-in user with a generated password (`database_password`): the instance's admin,
    or a tool's own login (Grafana's). Such a user owns what it creates, and PostgreSQL will not
    drop a role while it owns objects, so a disposable stack abandons it with the instance
    rather than failing the destroy; a protected one refuses the delete."""
    password = database_password(password_name, password_opts)
    user = gcp.sql.User(
        resource_name,
        name=user_name,
        instance=instance,
        type="BUILT_IN",
        password=password,
        deletion_policy="PREVENT" if protect else "ABANDON",
        opts=opts,
    )
    return PasswordUser(user, password)


_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


@dataclass(frozen=True)
class DatabaseArgs:
    region: str
    """Region of the instance and its replica; the workloads that use it must be in it too."""
    network_id: pulumi.Input[str]
    """The VPC id (`projects/P/global/networks/N`). The instance gets a private IP on it, through
    private services access, and no public IP."""
    private_services_connection: pulumi.Resource
    """The `servicenetworking.Connection` that peers the VPC with Google's services: the instance
    cannot get a private IP before it exists (the provider does not infer this dependency)."""
    settings: DatabaseConfig = field(default_factory=DatabaseConfig)
    """Version, edition, tier, HA, backups, maintenance, pooling and replica; see
    `DatabaseConfig` for each default and when to change it."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """The stack's labels: Cloud SQL takes them as `user_labels`, which the provider's
    default labels do not reach."""
    protect: bool = True
    """Pulumi `protect`, the provider's `deletion_protection` and `deletion_policy: PREVENT`, and
    Cloud SQL's own deletion protection on the instance, its replica, the database and the admin
    user, and backups kept after a deletion. Off only for disposable environments."""
    iam_service_accounts: Sequence[str] | Mapping[str, pulumi.Input[str]] = ()
    """The service accounts that log in with IAM database authentication, each made a
    `CLOUD_IAM_SERVICE_ACCOUNT` user. Either plain emails (`iam_users` is keyed by the email),
    or a mapping from a short stable key (`api`, `workers`) to an email that may be an Output
    (for instance `gcp.serviceaccount.Account.email`, so that the user waits for the account);
    the key names the Pulumi resource, so reordering never replaces a user. The account still
    needs `roles/cloudsql.instanceUser` and `roles/cloudsql.client` to connect, and SQL grants
    to see any table."""
    database_name: str = "omni"
    """The application's database (UTF8, en_US.UTF8)."""
    encryption: CustomerKey | None = None
    """The customer-managed key (components/encryption.py) to encrypt with, or None for Google's
    default encryption. Adopting or changing it REPLACES the
    instance and its replica: the provider's `encryptionKeyName` is ForceNew (docs/encryption.md)."""


def max_connections(settings: DatabaseConfig) -> int:
    """PostgreSQL `max_connections`: the stack's value, or Google's default for the tier."""
    return settings.max_connections or default_max_connections(settings.tier)


def database_flags(settings: DatabaseConfig) -> dict[str, str]:
    """The flags set on the primary and on the replica (a hot standby needs `max_connections`
    at least as high as its primary's, so both get the same)."""
    return {
        # Workloads log in as their service account with a short-lived token, not a password.
        "cloudsql.iam_authentication": "on",
        # Explicit, so that the connection budget checked by the config is what the server has,
        # and a tier change does not silently change it.
        "max_connections": str(max_connections(settings)),
        "log_min_duration_statement": str(SLOW_STATEMENT_MS),
        # Sessions waiting on a lock longer than deadlock_timeout (1 s): contention shows up.
        "log_lock_waits": "on",
        "log_temp_files": str(TEMP_FILE_LOG_KB),
    }


def backup_start_time(maintenance_hour: int) -> str:
    """`HH:MM` (UTC) at which the daily backup window starts, so that it ends an hour before
    the maintenance window starts."""
    return f"{(maintenance_hour - BACKUP_WINDOW_HOURS - 1) % 24:02d}:00"


def iam_user_name(email: str) -> str:
    """The Cloud SQL user name of a service account: its email without `.gserviceaccount.com`
    (PostgreSQL limits names to 63 characters, so Cloud SQL drops the domain)."""
    if "@" not in email or not email.endswith(SERVICE_ACCOUNT_SUFFIX):
        raise ValueError(
            f"{email!r} is not a service account email (…@PROJECT.iam{SERVICE_ACCOUNT_SUFFIX}); "
            "people log in through a group or the admin user, not as IAM service account users"
        )
    return email.removesuffix(SERVICE_ACCOUNT_SUFFIX)


def iam_accounts_by_key(accounts: Sequence[str] | Mapping[str, pulumi.Input[str]]) -> dict[str, pulumi.Input[str]]:
    """Each service account under a stable key: the email itself, or the key given."""
    if isinstance(accounts, str):
        raise TypeError("iam_service_accounts takes a list of emails or a mapping, not one string")
    if isinstance(accounts, Mapping):
        keyed: dict[str, pulumi.Input[str]] = dict(accounts)
        for key in keyed:
            if not _KEY.fullmatch(key):
                raise ValueError(f"IAM user key {key!r}: use lowercase letters, digits and '-' (at most 41)")
        return keyed
    keyed = {}
    for email in accounts:
        iam_user_name(email)  # refuse anything that is not a service account, now
        if email in keyed:
            raise ValueError(f"service account {email} is listed twice")
        keyed[email] = email
    return keyed


def _resource_key(key: str) -> str:
    """The part of a user's resource name that comes from its key: an email's account id."""
    return key.split("@", 1)[0]


class Database(pulumi.ComponentResource):
    """A private Cloud SQL for PostgreSQL instance with its database and users."""

    instance: gcp.sql.DatabaseInstance
    replica: gcp.sql.DatabaseInstance | None
    database: gcp.sql.Database
    admin: gcp.sql.User
    connection_name: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    replica_private_ip: pulumi.Output[str] | None
    database_name: pulumi.Output[str]
    server_ca_cert: pulumi.Output[str]
    """PEM of the primary's server CA: what a client of the primary verifies it against."""
    server_ca_certs: pulumi.Output[str]
    """PEM of the primary's and the replica's server CAs: for a client of both."""
    admin_user: str
    admin_password: pulumi.Output[str]
    max_connections: int
    iam_users: dict[str, gcp.sql.User]

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("omni:database:Database", name, None, opts)
        settings = args.settings
        iam_accounts = iam_accounts_by_key(args.iam_service_accounts)
        resource_keys = [_resource_key(key) for key in iam_accounts]
        if len(set(resource_keys)) != len(resource_keys):
            raise ValueError(
                f"two IAM service accounts share an account id: {sorted(iam_accounts)}; use the mapping form"
            )

        self.max_connections = max_connections(settings)
        deletion_policy = "PREVENT" if args.protect else "DELETE"
        child = child_options(self, opts)
        stateful = child_options(self, opts, protect=args.protect)
        instance_opts = pulumi.ResourceOptions.merge(
            stateful,
            pulumi.ResourceOptions(
                # Google does not read the peering from the network id: wait for it explicitly
                # (and, on destroy, delete the instance before the peering).
                depends_on=[
                    args.private_services_connection,
                    *(args.encryption.grants if args.encryption else ()),
                ],
                # Autoresize grows the disk past the configured size; without this a later
                # `pulumi up` would try to shrink it, which forces a new instance.
                ignore_changes=["settings.diskSize"],
            ),
        )
        ip_configuration = gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
            ipv4_enabled=False,
            private_network=args.network_id,
            ssl_mode="ENCRYPTED_ONLY",
            # A CA of this instance's own: it signs this instance's certificate and nothing else, so a
            # client that verifies the chain against it (`verify-ca`) knows it reached this instance.
            server_ca_mode="GOOGLE_MANAGED_INTERNAL_CA",
            # No authorized_networks: there is no public IP for them to apply to.
        )
        flags = [
            gcp.sql.DatabaseInstanceSettingsDatabaseFlagArgs(name=flag, value=value)
            for flag, value in sorted(database_flags(settings).items())
        ]
        insights = gcp.sql.DatabaseInstanceSettingsInsightsConfigArgs(
            query_insights_enabled=settings.query_insights,
            # SQLAlchemy/sqlcommenter tags attribute load to routes and tasks.
            record_application_tags=settings.query_insights,
            # Clients are Cloud Run instances with changing private IPs: no information there.
            record_client_address=False,
        )
        maintenance = gcp.sql.DatabaseInstanceSettingsMaintenanceWindowArgs(
            day=settings.maintenance_day,
            hour=settings.maintenance_hour,
            update_track="stable",
        )

        # No explicit `name`: a Cloud SQL name cannot be reused for up to a week after the
        # instance is deleted, so a fixed name would block any replacement (and a recreated dev
        # stack). Pulumi auto-names it `<resource name>-<random suffix>`; the real name is
        # `connection_name`'s last part.
        self.instance = gcp.sql.DatabaseInstance(
            f"{name}-pg",
            region=args.region,
            database_version=settings.version,
            deletion_protection=args.protect,
            deletion_policy=deletion_policy,
            encryption_key_name=args.encryption.key_id if args.encryption else None,
            settings=gcp.sql.DatabaseInstanceSettingsArgs(
                edition=settings.edition,
                tier=settings.tier,
                availability_type=settings.availability,
                disk_type="PD_SSD",
                user_labels={**args.labels, "service": "database"},
                disk_size=settings.disk_size_gb,
                disk_autoresize=True,
                deletion_protection_enabled=args.protect,
                # A deleted instance keeps its automated backups: an accident can be undone.
                retain_backups_on_delete=args.protect,
                ip_configuration=ip_configuration,
                backup_configuration=gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
                    enabled=True,
                    point_in_time_recovery_enabled=True,
                    transaction_log_retention_days=settings.log_retention_days,
                    start_time=backup_start_time(settings.maintenance_hour),
                    backup_retention_settings=gcp.sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                        retained_backups=settings.retained_backups,
                        retention_unit="COUNT",
                    ),
                ),
                maintenance_window=maintenance,
                database_flags=flags,
                insights_config=insights,
                # Managed pooling exists on ENTERPRISE_PLUS only (the config refuses it
                # elsewhere); left out entirely when off, so ENTERPRISE instances never send it.
                # Google's pooler defaults apply: the config has no pooler flags yet.
                connection_pool_configs=[
                    gcp.sql.DatabaseInstanceSettingsConnectionPoolConfigArgs(connection_pooling_enabled=True)
                ]
                if settings.managed_pooling
                else None,
            ),
            opts=instance_opts,
        )

        self.replica = None
        if settings.read_replica:
            # A PostgreSQL read replica is an instance whose `master_instance_name` is the
            # primary: `replica_configuration` only carries MySQL/external-primary settings
            # (dump file, client certificates; `failover_target` is not supported for
            # PostgreSQL), and the primary's `replica_names` is computed by the API (setting it
            # here would make the primary depend on its own replica).
            self.replica = gcp.sql.DatabaseInstance(
                f"{name}-pg-replica",
                region=args.region,
                database_version=settings.version,
                master_instance_name=self.instance.name,
                instance_type="READ_REPLICA_INSTANCE",
                # A replica of a CMEK primary must name a key too: the primary's (same region).
                encryption_key_name=args.encryption.key_id if args.encryption else None,
                deletion_protection=args.protect,
                deletion_policy=deletion_policy,
                settings=gcp.sql.DatabaseInstanceSettingsArgs(
                    edition=settings.edition,
                    # The same machine: a smaller replica falls behind on replay under load.
                    tier=settings.tier,
                    user_labels={**args.labels, "service": "database-replica"},
                    availability_type="ZONAL",
                    disk_type="PD_SSD",
                    disk_size=settings.disk_size_gb,
                    disk_autoresize=True,
                    deletion_protection_enabled=args.protect,
                    ip_configuration=ip_configuration,
                    # Replicas take no backups of their own: the primary's cover the data.
                    backup_configuration=gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
                        enabled=False,
                        point_in_time_recovery_enabled=False,
                    ),
                    # No maintenance window: a replica follows its primary's.
                    database_flags=flags,
                    insights_config=insights,
                ),
                opts=instance_opts,
            )

        self.database = gcp.sql.Database(
            f"{name}-db",
            name=args.database_name,
            instance=self.instance.name,
            charset="UTF8",
            collation="en_US.UTF8",
            # Disposable: abandon rather than delete. PostgreSQL refuses to drop a database other
            # roles still have objects in, and the instance's own deletion removes it anyway.
            deletion_policy="PREVENT" if args.protect else "ABANDON",
            opts=stateful,
        )

        # The admin user owns the schema (`password_user` says why it is abandoned, not dropped).
        admin = password_user(
            f"{name}-admin",
            user_name=ADMIN_USER,
            instance=self.instance.name,
            protect=args.protect,
            password_name=f"{name}-admin-password",
            # Protected: a new password would lock the migrations out until every reader restarts.
            password_opts=stateful,
            opts=stateful,
        )
        self.admin_password = admin.password
        self.admin_user = ADMIN_USER
        self.admin = admin.user

        self.iam_users = {}
        for key, email in iam_accounts.items():
            self.iam_users[key] = gcp.sql.User(
                f"{name}-iam-{_resource_key(key)}",
                name=pulumi.Output.from_input(email).apply(iam_user_name),
                instance=self.instance.name,
                type="CLOUD_IAM_SERVICE_ACCOUNT",
                # Removing an account from the list must revoke its login, so it is deleted (a
                # user that owns objects fails loudly: reassign them first). Disposable stacks
                # abandon it with the instance.
                deletion_policy="DELETE" if args.protect else "ABANDON",
                opts=child,
            )

        self.connection_name = self.instance.connection_name
        self.private_ip = self.instance.private_ip_address
        self.replica_private_ip = self.replica.private_ip_address if self.replica is not None else None
        self.database_name = self.database.name
        # Clients verify the server against these (the replica has a CA of its own).
        # The provider returns the instance's outputs as secret; a CA certificate is public, and
        # plain text lets a review see a CA rotation.
        self.server_ca_cert = pulumi.Output.unsecret(self.instance.server_ca_certs.apply(pem_bundle))
        self.server_ca_certs = pulumi.Output.all(
            self.server_ca_cert,
            *(
                [pulumi.Output.unsecret(self.replica.server_ca_certs.apply(pem_bundle))]
                if self.replica is not None
                else []
            ),
        ).apply("".join)
        self.register_outputs(
            {
                "connection_name": self.connection_name,
                "private_ip": self.private_ip,
                "database_name": self.database_name,
                "server_ca_certs": self.server_ca_certs,
                "admin_user": self.admin_user,
                "admin_password": self.admin_password,
                "max_connections": self.max_connections,
                "replica_connection_name": self.replica.connection_name if self.replica else None,
                "iam_users": {key: user.name for key, user in self.iam_users.items()},
            }
        )
