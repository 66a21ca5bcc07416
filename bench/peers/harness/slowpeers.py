"""Airflow 3 and Prefect 3."""

from systems import InstallError, System


class Airflow(System):
    name = "airflow"
    label = "Airflow 3"

    def install(self) -> None:
        raise InstallError("not wired yet")


class Prefect(System):
    name = "prefect"
    label = "Prefect 3"

    def install(self) -> None:
        raise InstallError("not wired yet")
