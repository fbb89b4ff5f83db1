"""Pure functions that render the shell scripts and configs the components run. No Pulumi here."""
