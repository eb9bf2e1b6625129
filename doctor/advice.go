package doctor

// The advice for each kind of failure: the gateway's setting and where the
// same thing lives on Kamailio, Asterisk (chan_pjsip) and FreeSWITCH
// (mod_sofia).

var (
	adviceDNS = &Advice{
		Setting:    "sip.registrar (and sip.outbound_proxy): a host name this machine resolves, or an IP address",
		Kamailio:   "the name the proxy is known by (alias= and the DNS A/AAAA record of its listen address)",
		Asterisk:   "the DNS name of the Asterisk host (the transport's bind address)",
		FreeSWITCH: "the DNS name of the FreeSWITCH host (the profile's sip-ip)",
	}
	adviceNoAnswer = &Advice{
		Setting:    "sip.registrar (host and port), sip.transport, sip.outbound_proxy; a firewall between here and the PBX must pass SIP both ways",
		Kamailio:   "listen=udp:ADDR:PORT (and tcp:) in kamailio.cfg; 'kamcmd corex.list_sockets' shows what it listens on",
		Asterisk:   "a transport in pjsip.conf (type=transport, protocol=udp, bind=0.0.0.0:5060); 'pjsip show transports'",
		FreeSWITCH: "the internal profile's sip-port (internal_sip_port in vars.xml, 5060); 'sofia status profile internal'",
	}
	adviceAuth = &Advice{
		Setting:    "sip.password (or password_env / password_file) and sip.auth_user (default sip.username)",
		Kamailio:   "the subscriber entry of the user ('kamctl add USER PASSWORD'); auth_db realm = the From domain (sip.domain)",
		Asterisk:   "the endpoint's auth section in pjsip.conf (type=auth, auth_type=userpass, username, password) named by auth= on the endpoint",
		FreeSWITCH: "directory/default/USER.xml: <param name=\"password\" value=\"...\"/>",
	}
	adviceRegisterForbidden = &Advice{
		Setting:    "sip.username, sip.auth_user and sip.domain",
		Kamailio:   "the REGISTER route: the test bed's and most configs refuse an auth user that differs from the To user ($au != $tU)",
		Asterisk:   "the endpoint's aors= and its aor (type=aor); an identify/ACL section that permits this host; max_contacts >= 2 so the doctor and the gateway both register",
		FreeSWITCH: "the internal profile's apply-register-acl and the user's domain in the directory",
	}
	adviceRegisterNotFound = &Advice{
		Setting:    "sip.username and sip.domain (the user's SIP domain, default the registrar's host)",
		Kamailio:   "a subscriber row for USER@DOMAIN; DOMAIN must be an alias= of the proxy",
		Asterisk:   "an endpoint and an aor named like sip.username",
		FreeSWITCH: "a user of that id in the directory of the domain",
	}
	adviceNotifyUnreachable = &Advice{
		Setting:    "sip.public_address (NOTIFYs go to the Contact: it must be reachable from the PBX), sip.trusted_sources (NOTIFYs from elsewhere get 403), the firewall for the SIP port",
		Kamailio:   "NOTIFYs leave from the presence server_address; with NAT, fix_nated_contact()/nat_uac_test in the SUBSCRIBE route",
		Asterisk:   "the endpoint's rewrite_contact=yes and force_rport=yes when the gateway is behind NAT",
		FreeSWITCH: "NDLB-force-rport and aggressive-nat-detection on the profile when the gateway is behind NAT",
	}
	adviceMessage = &Advice{
		Setting:    "doctor.test_agent (or --test-agent): an agent who takes MESSAGE; chat needs it",
		Kamailio:   "MESSAGE is routed like INVITE (lookup(\"location\") then t_relay()); the route must not refuse it",
		Asterisk:   "the endpoint's message_context (or context) and a dialplan that delivers it: exten => _X.,1,MessageSend(pjsip:${EXTEN})",
		FreeSWITCH: "mod_sms loaded and the chatplan delivering to the user (chatplan/default.xml)",
	}
	adviceCallRefused = &Advice{
		Setting:    "doctor.test_extension (or --test-extension): an extension that answers, such as an echo test",
		Kamailio:   "the INVITE route reaches the callee (lookup(\"location\")); the callee is registered",
		Asterisk:   "an echo extension in the endpoint's context: exten => 600,1,Answer() same => n,Echo()",
		FreeSWITCH: "the echo extension of the default dialplan (9196) or one of your own: <action application=\"echo\"/>",
	}
	adviceCodecs = &Advice{
		Setting:    "none: the gateway carries Opus, G.722, PCMU and PCMA without transcoding; the PBX must accept one of them",
		Kamailio:   "Kamailio does not choose codecs: the callee's phone does (and rtpengine's codec options when used)",
		Asterisk:   "the endpoint's allow= (e.g. disallow=all, allow=ulaw,alaw,g722,opus)",
		FreeSWITCH: "global_codec_prefs and outbound_codec_prefs in vars.xml (e.g. OPUS,G722,PCMU,PCMA)",
	}
	adviceNoRTP = &Advice{
		Setting:    "calls.rtp_ports must be open for UDP from the PBX's media; calls.rtp_address, and behind NAT sip.public_address / calls.public_ip",
		Kamailio:   "without rtpengine media flows between the gateway and the phone directly: the phone must reach calls.rtp_ports; with rtpengine, its interface and port range",
		Asterisk:   "rtp.conf rtpstart/rtpend open in the firewall; direct_media=no keeps media through Asterisk; rtp_symmetric=yes behind NAT",
		FreeSWITCH: "rtp-start-port/rtp-end-port in switch.conf.xml open in the firewall; ext-rtp-ip of the profile behind NAT",
	}
	adviceHold = &Advice{
		Setting:    "none: the gateway holds and resumes calls with re-INVITE (a=sendonly, a=sendrecv)",
		Kamailio:   "in-dialog requests are relayed by loose_route(); record_route() on the INVITE keeps Kamailio in the path",
		Asterisk:   "re-INVITEs are answered by Asterisk itself; moh_passthrough=no plays music on hold",
		FreeSWITCH: "re-INVITEs are answered by FreeSWITCH; the profile's media handling (bypass-media=false)",
	}
	adviceDTMF = &Advice{
		Setting:    "none: the gateway sends keys as RFC 4733 telephone-event when the PBX offers it, else SIP INFO",
		Kamailio:   "Kamailio passes RTP events through; the phone must offer telephone-event",
		Asterisk:   "the endpoint's dtmf_mode=rfc4733 (or auto); info for SIP INFO",
		FreeSWITCH: "the profile's dtmf-type=rfc2833 and liberal-dtmf for SIP INFO",
	}
	adviceSRTP = &Advice{
		Setting:    "calls.srtp: sdes offers SRTP with SDES keys; off for plain RTP. SDES keys travel in SDP: use sip.transport tls",
		Kamailio:   "Kamailio passes SDP through: the callee (or rtpengine with SDES) must accept RTP/SAVP",
		Asterisk:   "the endpoint's media_encryption=sdes (media_encryption_optimistic=yes accepts both)",
		FreeSWITCH: "rtp_secure_media=optional (or true) in vars.xml or the dialplan",
	}
)

// subscribeAdvice is what to change for a refused SUBSCRIBE of event ev.
func subscribeAdvice(code int, ev string) *Advice {
	switch code {
	case 489, 501:
		if ev == "dialog" {
			return &Advice{
				Setting:    "nothing in frontdesk.yaml: the PBX must serve the dialog package for the gateway to see agents' calls",
				Kamailio:   "loadmodule \"presence_dialoginfo.so\" and \"pua_dialoginfo.so\" (with dialog.so and dlg_manage() on INVITEs) in kamailio.cfg",
				Asterisk:   "a hint for the agent's extension in the endpoint's subscribe_context: exten => 101,hint,PJSIP/101",
				FreeSWITCH: "the internal profile's manage-presence=true (dialog state comes from the channels)",
			}
		}
		return &Advice{
			Setting:    "the PBX must serve the presence package for presence-mode agents (or give them mode always or boolean)",
			Kamailio:   "loadmodule \"presence.so\" and \"presence_xml.so\", and handle_subscribe() for SUBSCRIBE in kamailio.cfg",
			Asterisk:   "a hint for the agent's extension in the endpoint's subscribe_context (exten => 101,hint,PJSIP/101)",
			FreeSWITCH: "the internal profile's manage-presence=true",
		}
	case 403:
		return &Advice{
			Setting:    "sip.username: the PBX must let the gateway's user subscribe to agents",
			Kamailio:   "the SUBSCRIBE route must call handle_subscribe() for authenticated users; presence_xml force_active=1 (or an XCAP rule allowing the gateway's user)",
			Asterisk:   "allow_subscribe=yes on the gateway's endpoint (default) and its subscribe_context holding the agents' hints",
			FreeSWITCH: "manage-presence=true on the profile; the user may subscribe (presence-hosts, ACLs)",
		}
	case 404, 480:
		return &Advice{
			Setting:    "the agent's sip: in widgets[].agents[] (and sip.domain)",
			Kamailio:   "presence answers for users of its domain: the agent's domain must be an alias= of the proxy",
			Asterisk:   "a hint for that extension in the gateway endpoint's subscribe_context",
			FreeSWITCH: "a user or extension by that name in the domain",
		}
	case 401, 407:
		return adviceAuth
	}
	return nil
}
