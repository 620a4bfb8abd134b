"""localctl's configuration: one strict pydantic model, loaded from YAML.

Import from the submodules (`localctl.config.loader`, `localctl.config.model`, ...): this
package module stays empty so that adapter packages can define their config sections on
`localctl.config.base.StrictModel` without an import cycle through the top-level model.
"""
