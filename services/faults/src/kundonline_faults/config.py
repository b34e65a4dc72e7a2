from kundonline_common.settings import CommonSettings


class FaultsSettings(CommonSettings):
    faults_database_url: str = "sqlite+aiosqlite:///./.run/data/faults.db"
