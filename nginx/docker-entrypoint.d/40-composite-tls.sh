#!/bin/sh
# Runs in the official nginx image after 20-envsubst-on-templates.sh has rendered
# /etc/nginx/templates into /etc/nginx/conf.d. nginx will not start at all when the
# HTTPS server names a certificate that does not exist, so until both files named by
# NGINX_SSL_CERTIFICATE and NGINX_SSL_CERTIFICATE_KEY are readable, set the HTTPS server
# aside and serve plain HTTP, saying why. Written to work whether the entrypoint runs
# it or sources it: no exit, no shell options changed.

composite_tls() {
    conf_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
    tls_conf="$conf_dir/tls.conf"
    [ -f "$tls_conf" ] || return 0
    if [ -n "${NGINX_SSL_CERTIFICATE:-}" ] && [ -r "${NGINX_SSL_CERTIFICATE:-}" ] \
        && [ -n "${NGINX_SSL_CERTIFICATE_KEY:-}" ] && [ -r "${NGINX_SSL_CERTIFICATE_KEY:-}" ]; then
        echo "40-composite-tls.sh: HTTPS on with certificate ${NGINX_SSL_CERTIFICATE}"
        return 0
    fi
    mv -f "$tls_conf" "$tls_conf.disabled"
    echo "40-composite-tls.sh: HTTPS off: no readable certificate and key at" \
        "'${NGINX_SSL_CERTIFICATE:-}' and '${NGINX_SSL_CERTIFICATE_KEY:-}' (see docs/deployment.md)"
    case "${NGINX_HTTPS_REDIRECT:-}" in
        1 | [Tt][Rr][Uu][Ee] | [Yy][Ee][Ss] | [Oo][Nn])
            echo "40-composite-tls.sh: warning: NGINX_HTTPS_REDIRECT is on but HTTPS is off" ;;
    esac
    return 0
}

composite_tls
