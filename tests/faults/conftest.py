from tests.support.service_process import service_factory  # noqa: F401  (fixture)
