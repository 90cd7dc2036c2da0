"""Start the composite server: the API on BACKEND_PORT and the website on FRONTEND_PORT."""

from composite.library.site import run

if __name__ == "__main__":
    run()
