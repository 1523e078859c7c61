"""deploy/k8s/: the Kubernetes instance (dagster.yaml) loaded by Dagster, its run launcher and
PostgreSQL storage checked against their own config schemas, the Kubernetes Job a run gets,
and the Helm values, workspace and manifests that go with it. No cluster and no PostgreSQL
server: nothing is contacted.

Public APIs only (tests/test_public_apis.py): the instance is loaded with
`dg.DagsterInstance.get()`, and a configured class's config is checked against the class's
`config_type()` with `dg.validate_run_config`. Two things are changed in the copy that is loaded
here, each checked on its own: the storage is SQLite (dagster-postgres connects to its server
as soon as the instance is built) and the launcher reads a kubeconfig file for a cluster that
is never contacted (the in-cluster service account only exists in a pod)."""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import tomllib
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import sqlalchemy
import yaml
from dagster_postgres import DagsterPostgresStorage

from orchestration.settings import PROJECT_DIR

try:  # the `k8s` extra
    import kubernetes
    from dagster_k8s import DagsterK8sJobConfig, K8sRunLauncher, construct_dagster_k8s_job
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


# --- Kubernetes objects, strictly --------------------------------------------------------------


def _k8s(type_name: str, value: Any) -> Any:
    """`value` as the Kubernetes client type `type_name` ("V1Job", "list[V1Volume]",
    "dict[str, str]", "int", ...), built with the client's public model classes. Strict, unlike
    ApiClient.deserialize (which drops unknown keys): a key that is no field of the model, or a
    value of the wrong type, raises. Keys may be camelCase (manifests) or snake_case (Dagster)."""
    if match := re.fullmatch(r"list\[(.+)\]", type_name):
        if not isinstance(value, list):
            raise TypeError(f"{type_name}: expected a list, got {value!r}")
        return [_k8s(match[1], item) for item in value]
    if match := re.fullmatch(r"dict\[str, (.+)\]", type_name):
        if not isinstance(value, dict):
            raise TypeError(f"{type_name}: expected a mapping, got {value!r}")
        return {key: _k8s(match[1], item) for key, item in value.items()}
    primitive = {"str": str, "int": int, "bool": bool, "float": (int, float)}.get(type_name)
    if primitive is not None:
        if not isinstance(value, primitive) or (type_name == "int" and isinstance(value, bool)):
            raise TypeError(f"expected {type_name}, got {value!r}")
        return value
    model = getattr(kubernetes.client, type_name, None)
    if model is None:  # object, datetime
        return value
    return model(**_k8s_fields(model, value))


def _k8s_fields(model: type, value: Any) -> dict[str, Any]:
    """The fields of a `model` fragment (not all required fields need be there)."""
    if not isinstance(value, dict):
        raise TypeError(f"{model.__name__}: expected a mapping, got {value!r}")
    by_json_key = {json_key: attr for attr, json_key in model.attribute_map.items()}
    fields = {}
    for key, item in value.items():
        attr = key if key in model.openapi_types else by_json_key.get(key)
        if attr is None:
            raise ValueError(f"{model.__name__} has no field {key!r}")
        fields[attr] = _k8s(model.openapi_types[attr], item)
    return fields


# --- the instance ------------------------------------------------------------------------------


def _schema_checked(klass: Any, config: Mapping[str, Any]) -> Mapping[str, Any]:
    """`config` checked against klass.config_type(), the schema the instance checks it against
    before it constructs klass, with `env:` references resolved: Dagster's public config
    validation (dg.validate_run_config) of a one-op job whose op takes that schema. klass is not
    constructed (DagsterPostgresStorage would connect)."""

    @dg.op(name="configured_class", config_schema=klass.config_type())
    def configured_class() -> None: ...

    @dg.job(name="instance_config")
    def instance_config() -> None:
        configured_class()

    run_config = {"ops": {"configured_class": {"config": config}}}
    return dg.validate_run_config(instance_config, run_config)["ops"]["configured_class"]["config"]


@pytest.fixture
def environment(tmp_path, monkeypatch) -> Iterator[Path]:
    """A DAGSTER_HOME, with dummy values for the variables of deploy/k8s/dagster.yaml."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("PSW_IMAGE", IMAGE)
    monkeypatch.setenv("PSW_DAGSTER_DIR", str(tmp_path / "data" / "dagster"))
    for key, value in PG_ENV.items():
        monkeypatch.setenv(key, value)
    # K8sRunLauncher loads the kubeconfig into the Kubernetes client's default configuration
    # (process-wide): put the previous one back afterwards
    previous = kubernetes.client.Configuration.get_default_copy()
    yield home
    kubernetes.client.Configuration.set_default(previous)


def _loadable(config: Mapping[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The instance config with the two changes that let it load here: SQLite storage instead of
    PostgreSQL, and a kubeconfig file for a cluster that is never contacted instead of the
    in-cluster service account. The tests below check both original values on their own."""
    loadable = copy.deepcopy(dict(config))
    loadable["storage"] = {"sqlite": {"base_dir": str(tmp_path / "sqlite")}}
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "test", "cluster": {"server": "https://k8s.test:6443"}}],
                "users": [{"name": "test", "user": {"token": "not-a-real-token"}}],
                "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}],
                "current-context": "test",
            }
        )
    )
    launcher = loadable["run_launcher"]["config"]
    launcher["load_incluster_config"] = False
    launcher["kubeconfig_file"] = str(kubeconfig)
    return loadable


@contextmanager
def _loaded(home: Path, config: Mapping[str, Any]) -> Iterator[dg.DagsterInstance]:
    """The instance of `config`, as the webserver and daemon load it from $DAGSTER_HOME."""
    (home / "dagster.yaml").write_text(yaml.safe_dump(dict(config)))
    with dg.DagsterInstance.get() as instance:
        yield instance


@pytest.fixture
def k8s_instance(environment, tmp_path) -> Iterator[dg.DagsterInstance]:
    with _loaded(environment, _loadable(_yaml("dagster.yaml"), tmp_path)) as instance:
        yield instance


def _run_worker_job(launcher: K8sRunLauncher) -> kubernetes.client.V1Job:
    """The Kubernetes Job of a nightly_refresh run with the launcher's settings, built by
    dagster-k8s's public job constructor and not sent anywhere. (launch_run assembles the same
    settings through dagster-k8s internals, with run_k8s_config merged in: that config is
    checked on its own below.)"""
    run_id = str(uuid.uuid4())
    job_config = DagsterK8sJobConfig(
        job_image=launcher.job_image,
        dagster_home=launcher.dagster_home,
        image_pull_policy=launcher.image_pull_policy,
        image_pull_secrets=launcher.image_pull_secrets,
        service_account_name=launcher.service_account_name,
        instance_config_map=launcher.instance_config_map,
        postgres_password_secret=launcher.postgres_password_secret,
        env_config_maps=launcher.env_config_maps,
        env_secrets=launcher.env_secrets,
        env_vars=launcher.env_vars,
        volume_mounts=launcher.volume_mounts,
        volumes=launcher.volumes,
        labels=launcher.labels,
        resources=launcher.resources,
        scheduler_name=launcher.scheduler_name,
        security_context=launcher.security_context,
    )
    return construct_dagster_k8s_job(
        job_config=job_config,
        args=["dagster", "api", "execute_run", "{}"],
        job_name=f"dagster-run-{run_id}",
        pod_name=f"dagster-run-{run_id}",
        component="run_worker",
        labels={"dagster/job": "nightly_refresh", "dagster/run-id": run_id},
    )


def test_the_k8s_instance_loads_with_its_queue_launcher_and_logs(k8s_instance, tmp_path):
    assert isinstance(k8s_instance.run_coordinator, dg.QueuedRunCoordinator)
    assert type(k8s_instance.run_launcher) is K8sRunLauncher
    # local artifacts and step logs on the warehouse volume (PSW_DAGSTER_DIR)
    data = tmp_path / "data" / "dagster"
    assert k8s_instance.root_directory == str(data)
    logs = k8s_instance.compute_log_manager.get_log_metadata(["a-run-id", "a_step"])
    assert Path(logs.stdout_location).is_relative_to(data)
    assert not k8s_instance.telemetry_enabled


def test_the_storage_is_postgres_through_psycopg2_from_the_environment(environment):
    raw = _yaml("dagster.yaml")["storage"]
    assert set(raw) == {"postgres"}  # Dagster's key for dagster-postgres's DagsterPostgresStorage
    db = _schema_checked(DagsterPostgresStorage, raw["postgres"])["postgres_db"]
    assert db["scheme"] == "postgresql+psycopg2"
    assert (db["hostname"], db["port"], db["db_name"], db["username"], db["password"]) == (
        "postgres.test",
        6543,
        "dagster_k8s",
        "dagster",
        "not-a-real-password",
    )
    # the scheme names a dialect and a driver that SQLAlchemy finds (no connection is made)
    engine = sqlalchemy.create_engine(
        sqlalchemy.engine.URL.create(db["scheme"], host=db["hostname"], port=db["port"])
    )
    try:
        assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg2")
    finally:
        engine.dispose()
    # and no secret in the file: every connection value is an env reference
    for key in ("hostname", "port", "db_name", "username", "password"):
        assert set(raw["postgres"]["postgres_db"][key]) == {"env"}, key


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
    assert k8s_instance.run_monitoring_enabled
    assert k8s_instance.run_monitoring_start_timeout_seconds == 300
    assert k8s_instance.run_monitoring_max_resume_run_attempts == 0


def test_the_run_launcher_is_k8s_with_the_image_namespace_and_resources(k8s_instance):
    launcher = k8s_instance.run_launcher
    assert launcher.job_image == IMAGE  # from PSW_IMAGE
    assert launcher.job_namespace == "psw"
    assert launcher.service_account_name == "psw-dagster"
    assert launcher.image_pull_policy == "IfNotPresent"
    assert launcher.resources == RUN_RESOURCES
    assert launcher.env_config_maps == ["psw-env"]
    assert launcher.env_secrets == ["psw-secrets"]
    assert launcher.postgres_password_secret == "psw-dagster-postgresql"
    assert launcher.instance_config_map == "psw-dagster-instance"
    assert launcher.dagster_home == "/opt/dagster/dagster_home"
    assert launcher.fail_pod_on_run_failure is True
    # the file as it is (in-cluster credentials, which the loaded copy replaces), through
    # the launcher's own schema
    raw = _yaml("dagster.yaml")["run_launcher"]
    assert (raw["module"], raw["class"]) == ("dagster_k8s", "K8sRunLauncher")
    assert raw["config"]["job_image"] == {"env": "PSW_IMAGE"}
    config = _schema_checked(K8sRunLauncher, raw["config"])
    assert config["load_incluster_config"] is True
    assert config["kubeconfig_file"] is None
    assert config["job_image"] == IMAGE


def test_the_run_worker_job_runs_the_image_with_the_warehouse_volume(k8s_instance):
    job = _run_worker_job(k8s_instance.run_launcher)
    pod = job.spec.template.spec
    (container,) = pod.containers
    assert container.image == IMAGE
    assert container.image_pull_policy == "IfNotPresent"
    assert container.resources.to_dict()["requests"] == RUN_RESOURCES["requests"]
    assert container.resources.to_dict()["limits"] == RUN_RESOURCES["limits"]
    assert pod.service_account_name == "psw-dagster"
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
    assert job.spec.template.metadata.labels["app.kubernetes.io/part-of"] == (
        "partner-strategy-warehouse"
    )
    # the manifest the API server would receive is a valid Job, read back strictly
    manifest = kubernetes.client.ApiClient().sanitize_for_serialization(job)
    assert manifest["kind"] == "Job"
    assert manifest["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert _k8s("V1Job", manifest) == job


def test_the_run_k8s_config_is_valid_kubernetes_config(k8s_instance):
    """run_k8s_config is merged into each run's Job: every part is a fragment of the
    Kubernetes object it is merged into (a misspelled field would be dropped or rejected by
    the API server only at the first run)."""
    run_k8s_config = k8s_instance.run_launcher.run_k8s_config
    targets = {
        "container_config": kubernetes.client.V1Container,
        "pod_template_spec_metadata": kubernetes.client.V1ObjectMeta,
        "pod_spec_config": kubernetes.client.V1PodSpec,
        "job_config": kubernetes.client.V1Job,
        "job_metadata": kubernetes.client.V1ObjectMeta,
        "job_spec_config": kubernetes.client.V1JobSpec,
    }
    assert set(run_k8s_config) <= set(targets)
    fragments = {part: _k8s_fields(targets[part], run_k8s_config[part]) for part in run_k8s_config}
    # the image runs as uid 1000, the volume's files are group 1000
    (pod_security,) = fragments["pod_spec_config"].values()
    assert pod_security == kubernetes.client.V1PodSecurityContext(fs_group=1000)
    # a hung refresh is stopped after 3 h
    assert fragments["job_spec_config"] == {"active_deadline_seconds": 10800}


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
    manifests = _manifests()
    assert set(manifests) == {"ConfigMap", "PersistentVolumeClaim"}
    for kind, manifest in manifests.items():
        assert manifest["apiVersion"] == "v1"
        _k8s(f"V1{kind}", manifest)  # strict: an unknown or misspelled key raises
    assert all(isinstance(v, str) for v in manifests["ConfigMap"]["data"].values())
    assert "ReadWriteMany" in manifests["PersistentVolumeClaim"]["spec"]["accessModes"]


def _edited(config: Any, path: tuple[Any, ...], old: str, new: str) -> Any:
    edited = copy.deepcopy(config)
    node = edited
    for key in path:
        node = node[key]
    node[new] = node.pop(old)
    return edited


def test_a_misspelled_instance_section_is_rejected(environment, tmp_path):
    config = _loadable(_yaml("dagster.yaml"), tmp_path)
    with _loaded(environment, config):
        pass  # valid before the edit
    edited = _edited(config, (), "run_monitoring", "run_monitor")
    with (
        pytest.raises(dg.DagsterInvalidConfigError, match='unexpected config entry "run_monitor"'),
        _loaded(environment, edited),
    ):
        pass


@pytest.mark.parametrize(
    ("old", "new"), [("job_namespace", "job_namespce"), ("resources", "resource")]
)
def test_a_misspelled_launcher_key_is_rejected(environment, tmp_path, old, new):
    config = _loadable(_yaml("dagster.yaml"), tmp_path)
    with _loaded(environment, config) as instance:
        assert type(instance.run_launcher) is K8sRunLauncher  # valid before the edit
    edited = _edited(config, ("run_launcher", "config"), old, new)
    with (
        _loaded(environment, edited) as instance,
        pytest.raises(dg.DagsterInvalidConfigError, match=f'unexpected config entry "{new}"'),
    ):
        _ = instance.run_launcher  # the instance builds its launcher when it is first used


def test_a_misspelled_postgres_key_is_rejected(environment):
    storage = _yaml("dagster.yaml")["storage"]["postgres"]
    _schema_checked(DagsterPostgresStorage, storage)  # valid before the edit
    with pytest.raises(dg.DagsterInvalidConfigError, match='unexpected config entry "host"'):
        _schema_checked(
            DagsterPostgresStorage, _edited(storage, ("postgres_db",), "hostname", "host")
        )


def test_a_missing_variable_is_rejected(environment, tmp_path, monkeypatch):
    config = _loadable(_yaml("dagster.yaml"), tmp_path)
    # the launcher's image
    monkeypatch.delenv("PSW_IMAGE")
    with (
        _loaded(environment, config) as instance,
        pytest.raises(dg.DagsterInvalidConfigError, match="PSW_IMAGE"),
    ):
        _ = instance.run_launcher
    # the artifact and compute log directory, read when the instance loads
    monkeypatch.delenv("PSW_DAGSTER_DIR")
    with (
        pytest.raises(dg.DagsterInvalidConfigError, match="PSW_DAGSTER_DIR"),
        _loaded(environment, config),
    ):
        pass
    # the PostgreSQL password (from the Secret)
    monkeypatch.delenv("DAGSTER_PG_PASSWORD")
    with pytest.raises(dg.DagsterInvalidConfigError, match="DAGSTER_PG_PASSWORD"):
        _schema_checked(DagsterPostgresStorage, _yaml("dagster.yaml")["storage"]["postgres"])


def test_a_misspelled_volume_key_fails_when_the_job_is_built(environment, tmp_path):
    """volume_mounts entries are permissive in the launcher's schema: the Kubernetes model
    is what catches a typo there, when the Job is built."""
    config = _loadable(_yaml("dagster.yaml"), tmp_path)
    edited = _edited(
        config, ("run_launcher", "config", "volume_mounts", 0), "mount_path", "mountpath"
    )
    with _loaded(environment, edited) as instance:
        launcher = instance.run_launcher  # the launcher's schema lets it through
        with pytest.raises(Exception, match=r"V1VolumeMount.*mountpath"):
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
    helm_launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    fragments = [
        ("V1PodSecurityContext", deployment["podSecurityContext"]),
        ("V1ResourceRequirements", helm_launcher["resources"]),
        ("list[V1Volume]", deployment["volumes"]),
        ("list[V1VolumeMount]", deployment["volumeMounts"]),
        ("list[V1Volume]", values["dagsterWebserver"]["volumes"]),
        ("list[V1VolumeMount]", values["dagsterWebserver"]["volumeMounts"]),
    ]
    for type_name, fragment in fragments:
        _k8s(type_name, fragment)
    # parts of the run pods' PodSpec and JobSpec (Dagster fills in their required fields)
    run_k8s_config = helm_launcher["runK8sConfig"]
    _k8s_fields(kubernetes.client.V1PodSpec, run_k8s_config["podSpecConfig"])
    _k8s_fields(kubernetes.client.V1JobSpec, run_k8s_config["jobSpecConfig"])
