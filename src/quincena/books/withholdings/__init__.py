"""The buyer's withholdings (retenciones): rules as dated data, the account → concept map, the engine."""
