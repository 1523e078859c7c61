"""deploy/k8s/: the Kubernetes instance (dagster.yaml) loaded and validated by Dagster's own
config schemas, the Kubernetes Job its K8sRunLauncher would submit for a run, and the Helm
values, workspace and manifests that go with it. No cluster and no PostgreSQL server: the storage
and the launcher are validated and built, never connected."""

from __future__ import annotations

import importlib
import importlib.util
import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.dagster_run import DagsterRun
from dagster._serdes.config_class import ConfigurableClassData
from dagster_postgres.utils import pg_url_from_config

from orchestration.settings import PROJECT_DIR

try:  # the `k8s` extra
    import kubernetes
    from dagster_k8s import K8sRunLauncher
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.job import construct_dagster_k8s_job
    from dagster_k8s.models import k8s_model_from_dict, k8s_snake_case_dict
except ImportError:
    if os.environ.get("PSW_REQUIRE_K8S"):
        raise
    pytest.skip(
        "dagster-k8s is not installed: pip install -c constraints.txt -e '.[dev,k8s]'",
        allow_module_level=True,
    )

K8S_DIR = PROJECT_DIR / "deploy" / "k8s"
MODULE = "orchestration.definitions"
IMAGE = "registry.test/psw:0123abc"
PG_ENV = {
    "DAGSTER_PG_HOST": "postgres.test",
    "DAGSTER_PG_PORT": "6543",
    "DAGSTER_PG_DB": "dagster_k8s",
    "DAGSTER_PG_USER": "dagster",
    "DAGSTER_PG_PASSWORD": "not-a-real-password",
}
RUN_RESOURCES = {
    "requests": {"cpu": "2", "memory": "8Gi"},
    "limits": {"cpu": "2", "memory": "8Gi"},
}


def _yaml(name: str) -> Any:
    return yaml.safe_load((K8S_DIR / name).read_text())


def _manifests() -> dict[str, dict[str, Any]]:
    """deploy/k8s/warehouse.yaml by kind."""
    docs = yaml.safe_load_all((K8S_DIR / "warehouse.yaml").read_text())
    return {doc["kind"]: doc for doc in docs if doc}


@pytest.fixture
def k8s_home(tmp_path, monkeypatch) -> Path:
    """A DAGSTER_HOME holding deploy/k8s/dagster.yaml, with dummy values for its variables."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((K8S_DIR / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("PSW_IMAGE", IMAGE)
    monkeypatch.setenv("PSW_DAGSTER_DIR", str(tmp_path / "data" / "dagster"))
    for key, value in PG_ENV.items():
        monkeypatch.setenv(key, value)
    return home


def _processed(data: ConfigurableClassData) -> tuple[type, Mapping[str, Any]]:
    """A configured class's config through the class's own schema, as
    ConfigurableClassData.rehydrate does it, without constructing the class (PostgreSQL
    storage would connect)."""
    klass = getattr(importlib.import_module(data.module_name), data.class_name)
    result = process_config(resolve_to_config_type(klass.config_type()), data.config_dict)
    if not result.success:
        raise DagsterInvalidConfigError(
            f"Errors whilst loading configuration for {data.class_name}",
            result.errors,
            data.config_dict,
        )
    return klass, result.value


def _validate(home: Path) -> dict[str, tuple[type, Mapping[str, Any]]]:
    """The whole instance: Dagster's instance schema, then each configured class's schema."""
    ref = InstanceRef.from_dir(str(home))
    parts = {
        "storage": ref.storage_data,
        "run_coordinator": ref.run_coordinator_data,
        "run_launcher": ref.run_launcher_data,
        "compute_logs": ref.compute_logs_data,
        "local_artifact_storage": ref.local_artifact_storage_data,
    }
    return {name: _processed(data) for name, data in parts.items()}


@pytest.fixture
def launcher_without_cluster(monkeypatch) -> list[dict[str, Any]]:
    """K8sRunLauncher loads the Kubernetes client config when it is constructed: record the
    call instead (there is no cluster here). Nothing else it does at construction contacts one."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        "dagster_k8s.launcher.load_kubernetes_config", lambda **kwargs: calls.append(kwargs)
    )
    return calls


@pytest.fixture
def k8s_instance(k8s_home, tmp_path, launcher_without_cluster) -> Iterator[dg.DagsterInstance]:
    """The instance of deploy/k8s/dagster.yaml as the daemon builds it, except that its
    PostgreSQL storage (validated by the tests below) is swapped for SQLite in tmp_path."""
    ref = InstanceRef.from_dir(str(k8s_home))
    sqlite = InstanceRef.config_defaults(str(tmp_path / "sqlite"))
    ref = ref._replace(
        storage_data=sqlite["storage"],
        run_storage_data=sqlite["run_storage"],
        event_storage_data=sqlite["event_log_storage"],
        schedule_storage_data=sqlite["schedule_storage"],
    )
    with dg.DagsterInstance.from_ref(ref) as instance:
        yield instance


def _run_worker_job(launcher: K8sRunLauncher) -> kubernetes.client.V1Job:
    """The Job that launcher.launch_run submits for a nightly_refresh run, built the same way
    (K8sRunLauncher._launch_k8s_job_with_args) but not sent anywhere."""
    run = DagsterRun(job_name="nightly_refresh", tags={"psw/writer": "build.duckdb"})
    context = K8sContainerContext.create_for_run(run, launcher, include_run_tags=True)
    return construct_dagster_k8s_job(
        job_config=context.get_k8s_job_config(job_image=None, run_launcher=launcher),
        args=["dagster", "api", "execute_run", "{}"],
        job_name=f"dagster-run-{run.run_id}",
        pod_name=f"dagster-run-{run.run_id}",
        component="run_worker",
        user_defined_k8s_config=context.run_k8s_config,
        labels={"dagster/job": run.job_name, "dagster/run-id": run.run_id},
    )


def test_the_k8s_instance_is_valid_dagster_config(k8s_home):
    parts = _validate(k8s_home)
    assert parts["storage"][0].__name__ == "DagsterPostgresStorage"
    assert parts["run_coordinator"][0].__name__ == "QueuedRunCoordinator"
    assert parts["run_launcher"][0] is K8sRunLauncher
    assert parts["compute_logs"][1]["base_dir"] == str(k8s_home.parent / "data" / "dagster")


def test_the_storage_is_postgres_through_psycopg2_from_the_environment(k8s_home):
    _, config = _validate(k8s_home)["storage"]
    db = config["postgres_db"]
    assert db["scheme"] == "postgresql+psycopg2"
    assert (db["hostname"], str(db["port"]), db["db_name"]) == (
        "postgres.test",
        "6543",
        "dagster_k8s",
    )
    # the URL dagster-postgres connects with, read by SQLAlchemy (no connection is made)
    engine = sqlalchemy.create_engine(pg_url_from_config(config))
    try:
        assert engine.dialect.name == "postgresql"
        assert engine.dialect.driver == "psycopg2"
        assert engine.url.host == "postgres.test"
        assert engine.url.port == 6543
        assert engine.url.password == "not-a-real-password"
    finally:
        engine.dispose()
    # and no secret in the file: every connection value is an env reference
    raw = _yaml("dagster.yaml")["storage"]["postgres"]["postgres_db"]
    for key in ("hostname", "port", "db_name", "username", "password"):
        assert set(raw[key]) == {"env"}, key


def test_the_queue_and_the_pool_are_those_of_the_production_instance(k8s_instance):
    production = yaml.safe_load((PROJECT_DIR / "deploy" / "dagster.yaml").read_text())
    k8s = _yaml("dagster.yaml")
    assert k8s["concurrency"] == production["concurrency"]
    assert k8s["run_coordinator"] == production["run_coordinator"]
    # as Dagster reads them
    concurrency = k8s_instance.get_concurrency_config()
    assert concurrency.pool_config.default_pool_limit == 1
    assert concurrency.run_queue_config.max_concurrent_runs == 4
    assert concurrency.run_queue_config.tag_concurrency_limits == [
        {"key": "psw/writer", "value": "build.duckdb", "limit": 1}
    ]
    assert type(k8s_instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert k8s_instance.run_monitoring_enabled
    assert k8s_instance.run_monitoring_max_resume_run_attempts == 0
    assert not k8s_instance.telemetry_enabled


def test_the_run_launcher_is_k8s_with_the_image_namespace_and_resources(
    k8s_instance, launcher_without_cluster
):
    launcher = k8s_instance.run_launcher
    assert type(launcher) is K8sRunLauncher
    assert launcher_without_cluster == [
        {"load_incluster_config": True, "kubeconfig_file": None, "k8s_api_ssl_ca_cert_file": None}
    ]
    assert launcher.job_image == IMAGE  # from PSW_IMAGE
    assert launcher.job_namespace == "psw"
    assert launcher.service_account_name == "psw-dagster"
    assert launcher.resources == RUN_RESOURCES
    assert launcher.env_config_maps == ["psw-env"]
    assert launcher.env_secrets == ["psw-secrets"]
    assert launcher.postgres_password_secret == "psw-dagster-postgresql"
    raw = _yaml("dagster.yaml")["run_launcher"]["config"]
    assert raw["job_image"] == {"env": "PSW_IMAGE"}


def test_the_run_worker_job_runs_the_image_with_the_warehouse_volume(k8s_instance):
    job = _run_worker_job(k8s_instance.run_launcher)
    pod = job.spec.template.spec
    (container,) = pod.containers
    assert container.image == IMAGE
    assert container.resources.to_dict()["requests"] == RUN_RESOURCES["requests"]
    assert container.resources.to_dict()["limits"] == RUN_RESOURCES["limits"]
    assert pod.service_account_name == "psw-dagster"
    assert pod.security_context.fs_group == 1000
    assert job.spec.active_deadline_seconds == 10800
    assert job.spec.backoff_limit == 0  # a failed refresh is not retried by Kubernetes
    # the settings and credentials
    env_from = [(e.config_map_ref or e.secret_ref).name for e in container.env_from]
    assert env_from == ["psw-env", "psw-secrets"]
    env = {e.name: e for e in container.env}
    assert env["DAGSTER_HOME"].value == "/opt/dagster/dagster_home"
    password = env["DAGSTER_PG_PASSWORD"].value_from.secret_key_ref
    assert (password.name, password.key) == ("psw-dagster-postgresql", "postgresql-password")
    # the warehouse: the claim of deploy/k8s/warehouse.yaml, mounted at /data
    (volume,) = [v for v in pod.volumes if v.persistent_volume_claim]
    assert volume.persistent_volume_claim.claim_name == "psw-warehouse"
    assert _manifests()["PersistentVolumeClaim"]["metadata"]["name"] == "psw-warehouse"
    (mount,) = [m for m in container.volume_mounts if m.name == volume.name]
    assert mount.mount_path == "/data"
    # and the whole Job serialises to the manifest the API server receives
    manifest = kubernetes.client.ApiClient().sanitize_for_serialization(job)
    assert manifest["kind"] == "Job"
    assert manifest["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_every_variable_the_instance_reads_is_provided_to_its_pods():
    text = (K8S_DIR / "dagster.yaml").read_text()
    referenced = {
        line.split("env:", 1)[1].strip()
        for line in text.splitlines()
        if line.strip().startswith("env:")
    }
    config_map = _manifests()["ConfigMap"]["data"]
    provided = set(config_map) | {"DAGSTER_PG_PASSWORD"}  # from postgres_password_secret
    assert referenced, "dagster.yaml reads no variable?"
    assert referenced <= provided, referenced - provided
    # the warehouse lives on the volume, and the Dockerfile says the same
    mount = _yaml("dagster.yaml")["run_launcher"]["config"]["volume_mounts"][0]["mount_path"]
    dockerfile = (K8S_DIR / "Dockerfile").read_text()
    for key in ("PSW_WAREHOUSE_DIR", "PSW_LANDING_DIR", "PSW_DAGSTER_DIR"):
        assert config_map[key].startswith(mount + "/"), key
        assert f"{key}={config_map[key]}" in dockerfile, key


def test_the_manifests_are_valid_kubernetes_objects():
    models = {
        "ConfigMap": kubernetes.client.V1ConfigMap,
        "PersistentVolumeClaim": kubernetes.client.V1PersistentVolumeClaim,
    }
    manifests = _manifests()
    assert set(manifests) == set(models)
    for kind, model in models.items():
        # strict: an unknown or misspelled key raises
        k8s_model_from_dict(model, k8s_snake_case_dict(model, manifests[kind]))
    assert all(isinstance(v, str) for v in manifests["ConfigMap"]["data"].values())
    assert "ReadWriteMany" in manifests["PersistentVolumeClaim"]["spec"]["accessModes"]


def _edit(home: Path, path: tuple[str, ...], old: str, new: str) -> None:
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    node = config
    for key in path:
        node = node[key]
    node[new] = node.pop(old)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))


@pytest.mark.parametrize(
    ("path", "old", "new", "message"),
    [
        # a misspelled launcher key: K8sRunLauncher's schema rejects it
        (("run_launcher", "config"), "job_namespace", "job_namespce", "job_namespce"),
        (("run_launcher", "config"), "resources", "resource", "resource"),
        # a misspelled PostgreSQL key: dagster-postgres's schema rejects it
        (("storage", "postgres", "postgres_db"), "hostname", "host", "host"),
        # a misspelled top-level section: Dagster's instance schema rejects it
        ((), "run_monitoring", "run_monitor", "run_monitor"),
    ],
)
def test_a_misspelled_key_is_rejected(k8s_home, path, old, new, message):
    _validate(k8s_home)  # valid before the edit
    _edit(k8s_home, path, old, new)
    with pytest.raises(DagsterInvalidConfigError, match=message):
        _validate(k8s_home)


def test_a_missing_variable_is_rejected(k8s_home, monkeypatch):
    monkeypatch.delenv("PSW_IMAGE")
    with pytest.raises(DagsterInvalidConfigError, match="PSW_IMAGE"):
        _validate(k8s_home)


def test_a_misspelled_volume_key_fails_when_the_job_is_built(k8s_home, launcher_without_cluster):
    """volume_mounts entries are permissive in the launcher's schema: the Kubernetes model
    is what catches a typo there, when the Job is built."""
    _edit(k8s_home, ("run_launcher", "config", "volume_mounts", 0), "mount_path", "mountpath")
    _validate(k8s_home)  # the launcher's schema lets it through
    launcher = InstanceRef.from_dir(str(k8s_home)).run_launcher
    with pytest.raises(Exception, match="mountpath"):
        _run_worker_job(launcher)


def _code_location_name() -> str:
    pyproject = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())
    assert pyproject["tool"]["dagster"]["module_name"] == MODULE
    return pyproject["tool"]["dagster"]["code_location_name"]


def test_the_workspace_loads_the_definitions_module():
    (entry,) = _yaml("workspace.yaml")["load_from"]
    module = entry["python_module"]
    assert module["module_name"] == MODULE
    assert module["location_name"] == _code_location_name()
    assert importlib.util.find_spec(MODULE) is not None


def test_the_helm_values_serve_the_definitions_module():
    values = _yaml("values.yaml")
    user = values["dagster-user-deployments"]
    assert user["enabled"]
    (deployment,) = user["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--module-name") + 1] == MODULE
    assert deployment["includeConfigInLaunchedRuns"]["enabled"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False  # external PostgreSQL


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _snake_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_snake(k): _snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_keys(v) for v in value]
    return value


def test_the_helm_values_say_what_the_instance_file_says():
    """The chart writes its own dagster.yaml from values.yaml: keep the two in step."""
    values = _yaml("values.yaml")
    instance = _yaml("dagster.yaml")
    launcher = instance["run_launcher"]["config"]
    helm_launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    (deployment,) = values["dagster-user-deployments"]["deployments"]

    pg = instance["storage"]["postgres"]["postgres_db"]
    assert values["postgresql"]["postgresqlScheme"] == pg["scheme"]
    assert values["global"]["postgresqlSecretName"] == launcher["postgres_password_secret"]
    assert values["global"]["serviceAccountName"] == launcher["service_account_name"]

    concurrency = _snake_keys(values["concurrency"])
    assert concurrency.pop("enabled") is True
    assert concurrency == {
        "pools": {"default_limit": 1},
        "runs": instance["concurrency"]["runs"],
    }
    assert instance["concurrency"]["pools"] == {"default_limit": 1}
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert _snake_keys(values["dagsterDaemon"]["runMonitoring"]) == instance["run_monitoring"]
    assert values["telemetry"] == instance["telemetry"] == {"enabled": False}

    assert helm_launcher["loadInclusterConfig"] is launcher["load_incluster_config"] is True
    assert helm_launcher["resources"] == launcher["resources"] == RUN_RESOURCES
    assert _snake_keys(helm_launcher["runK8sConfig"]) == launcher["run_k8s_config"]
    assert [c["name"] for c in deployment["envConfigMaps"]] == launcher["env_config_maps"]
    assert [s["name"] for s in deployment["envSecrets"]] == launcher["env_secrets"]
    assert _snake_keys(deployment["volumes"]) == launcher["volumes"]
    assert _snake_keys(deployment["volumeMounts"]) == launcher["volume_mounts"]

    logs = values["computeLogManager"]["config"]["customComputeLogManager"]
    assert {k: logs[k] for k in ("module", "class", "config")} == instance["compute_logs"]


def test_the_kubernetes_fragments_of_the_helm_values_are_valid():
    """The chart copies these into pod specs as they are: check them against the Kubernetes
    models (strict: an unknown key raises)."""
    values = _yaml("values.yaml")
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    client = kubernetes.client
    fragments = [
        (client.V1PodSecurityContext, deployment["podSecurityContext"]),
        (
            client.V1ResourceRequirements,
            values["runLauncher"]["config"]["k8sRunLauncher"]["resources"],
        ),
        *[(client.V1Volume, v) for v in deployment["volumes"]],
        *[(client.V1VolumeMount, m) for m in deployment["volumeMounts"]],
        *[(client.V1Volume, v) for v in values["dagsterWebserver"]["volumes"]],
        *[(client.V1VolumeMount, m) for m in values["dagsterWebserver"]["volumeMounts"]],
    ]
    for model, fragment in fragments:
        k8s_model_from_dict(model, k8s_snake_case_dict(model, fragment))
