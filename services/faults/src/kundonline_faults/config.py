from kundonline_common.settings import CommonSettings


class FaultsSettings(CommonSettings):
    faults_database_url: str = "sqlite+aiosqlite:///./.run/data/faults.db"
    photo_max_bytes: int = 5 * 1024 * 1024
    photos_per_fault: int = 5
