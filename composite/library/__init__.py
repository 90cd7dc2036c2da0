"""The prompt library (ai.allucanget.biz): domain modules with the site's SQL, the API, the website."""
