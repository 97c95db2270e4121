"""Docker-free local stack: embedded AWS (moto), the template's resources and routes, the real handlers."""
