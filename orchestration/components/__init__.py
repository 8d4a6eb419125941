"""Project components: the dbt project component that writes through the warehouse lock."""

from orchestration.components.warehouse_dbt import WarehouseDbtProjectComponent

__all__ = ["WarehouseDbtProjectComponent"]
