--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: s1; Type: SCHEMA; Schema: -; Owner: -
--



SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: satisfaction_rating; Type: TABLE; Schema: s1; Owner: -
--

CREATE TABLE satisfaction_rating (
    rating_id character varying(64) NOT NULL,
    hall_id character varying(64) NOT NULL,
    ticket_id character varying(64) NOT NULL,
    number character varying(16) NOT NULL,
    "window" integer NOT NULL,
    staff_id character varying(32) NOT NULL,
    service character varying(16) NOT NULL,
    item_code character varying(64) NOT NULL,
    case_number character varying(64),
    outcome character varying(16),
    department_code character varying(64) NOT NULL,
    region_code character varying(6) NOT NULL,
    reason_table character varying(16) NOT NULL,
    assess_number integer NOT NULL,
    device_id character varying(64) NOT NULL,
    free_text character varying(500),
    level character varying(24) NOT NULL,
    reasons character varying(200) NOT NULL,
    channel character varying(1) NOT NULL,
    system_default boolean NOT NULL,
    finished_at timestamp with time zone NOT NULL,
    rated_at timestamp with time zone NOT NULL,
    day date NOT NULL,
    content_hash character varying(64) NOT NULL,
    received_at timestamp with time zone NOT NULL
);


--
-- Name: satisfaction_served; Type: TABLE; Schema: s1; Owner: -
--

CREATE TABLE satisfaction_served (
    hall_id character varying(64) NOT NULL,
    day date NOT NULL,
    "window" integer NOT NULL,
    staff_id character varying(32) NOT NULL,
    service character varying(16) NOT NULL,
    served integer NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: satisfaction_served_ticket; Type: TABLE; Schema: s1; Owner: -
--

CREATE TABLE satisfaction_served_ticket (
    hall_id character varying(64) NOT NULL,
    ticket_id character varying(64) NOT NULL,
    day date NOT NULL,
    number character varying(16) NOT NULL,
    "window" integer NOT NULL,
    staff_id character varying(32) NOT NULL,
    service character varying(16) NOT NULL,
    outcome character varying(16),
    case_number character varying(64),
    finished_at timestamp with time zone NOT NULL,
    content_hash character varying(64) NOT NULL,
    received_at timestamp with time zone NOT NULL
);


--
-- Name: satisfaction_work_order; Type: TABLE; Schema: s1; Owner: -
--

CREATE TABLE satisfaction_work_order (
    rating_id character varying(64) NOT NULL,
    hall_id character varying(64) NOT NULL,
    day date NOT NULL,
    "window" integer NOT NULL,
    staff_id character varying(32) NOT NULL,
    service character varying(16) NOT NULL,
    level character varying(24) NOT NULL,
    state character varying(16) NOT NULL,
    deadline date NOT NULL,
    rectified_on date,
    id integer NOT NULL,
    reasons character varying(200) NOT NULL,
    opened_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: satisfaction_work_order_action; Type: TABLE; Schema: s1; Owner: -
--

CREATE TABLE satisfaction_work_order_action (
    id integer NOT NULL,
    work_order_id integer NOT NULL,
    action character varying(16) NOT NULL,
    from_state character varying(16) NOT NULL,
    to_state character varying(16) NOT NULL,
    actor character varying(64) NOT NULL,
    role character varying(16) NOT NULL,
    note character varying(1000) NOT NULL,
    at timestamp with time zone NOT NULL
);


--
-- Name: satisfaction_work_order_action_id_seq; Type: SEQUENCE; Schema: s1; Owner: -
--

CREATE SEQUENCE satisfaction_work_order_action_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: satisfaction_work_order_action_id_seq; Type: SEQUENCE OWNED BY; Schema: s1; Owner: -
--

ALTER SEQUENCE satisfaction_work_order_action_id_seq OWNED BY satisfaction_work_order_action.id;


--
-- Name: satisfaction_work_order_id_seq; Type: SEQUENCE; Schema: s1; Owner: -
--

CREATE SEQUENCE satisfaction_work_order_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: satisfaction_work_order_id_seq; Type: SEQUENCE OWNED BY; Schema: s1; Owner: -
--

ALTER SEQUENCE satisfaction_work_order_id_seq OWNED BY satisfaction_work_order.id;


--
-- Name: satisfaction_work_order id; Type: DEFAULT; Schema: s1; Owner: -
--

ALTER TABLE ONLY satisfaction_work_order ALTER COLUMN id SET DEFAULT nextval('satisfaction_work_order_id_seq'::regclass);


--
-- Name: satisfaction_work_order_action id; Type: DEFAULT; Schema: s1; Owner: -
--

ALTER TABLE ONLY satisfaction_work_order_action ALTER COLUMN id SET DEFAULT nextval('satisfaction_work_order_action_id_seq'::regclass);


--
-- Data for Name: satisfaction_rating; Type: TABLE DATA; Schema: s1; Owner: -
--

INSERT INTO satisfaction_rating VALUES ('20261123-A001', '330199-QSXZWFWZX', '20261123-A001', 'A001', 1, 'S0101', 'SB', '330199-SB-0001', NULL, NULL, 'QSXZWFWZX', '330199', '2026.1', 1, 'keypad-01', NULL, 'very_satisfied', '', '5', false, '2026-11-23 01:30:40+00', '2026-11-23 01:31:05+00', '2026-11-23', 'c1939f2d1588a9c353d3d6ee94bfe0b9e29746a61e4ce2b71929a6714d9be5c6', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_rating VALUES ('20261123-A002', '330199-QSXZWFWZX', '20261123-A002', 'A001', 2, 'S0101', 'SB', '330199-SB-0001', NULL, NULL, 'QSXZWFWZX', '330199', '2026.1', 1, 'keypad-01', NULL, 'dissatisfied', 'R01,R05', '5', false, '2026-11-23 01:30:40+00', '2026-11-23 01:31:05+00', '2026-11-23', '1e8c4b5f76ab94d204d48ac0028d484b80c541b0295fc515f749a98c6d76ff70', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_rating VALUES ('20261123-A003', '330199-QSXZWFWZX', '20261123-A003', 'A001', 1, 'S0101', 'SB', '330199-SB-0001', 'QS0017', 'promised', 'QSXZWFWZX', '330199', '2026.1', 1, 'keypad-01', NULL, 'satisfied', '', '5', false, '2026-11-23 01:30:40+00', '2026-11-23 01:31:05+00', '2026-11-23', '9c46d4883421cd68b541b17a8166ef10e99a31b7537de7295c11e572ddcfdf77', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_rating VALUES ('20261123-A003-2', '330199-QSXZWFWZX', '20261123-A003-2', 'A001', 1, 'S0101', 'SB', '330199-SB-0001', NULL, NULL, 'QSXZWFWZX', '330199', '2026.1', 2, 'keypad-01', '补充："很好"，谢谢', 'very_satisfied', '', '5', false, '2026-11-23 01:30:40+00', '2026-11-23 01:31:05+00', '2026-11-23', '6afc8464b005f22019ba2aade81862c0731b1bfcb0afefee18e26f313074a5e6', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_rating VALUES ('20261123-A004', '330199-QSXZWFWZX', '20261123-A004', 'A001', 1, 'S0101', 'SB', '330199-SB-0001', NULL, NULL, 'QSXZWFWZX', '330199', '2026.1', 1, 'system-default', NULL, 'very_satisfied', '', '7', true, '2026-11-23 01:30:40+00', '2026-11-23 01:31:05+00', '2026-11-23', '50b8c660d309c555d2dfc415886207c102d2366eb11ca3f35be89fbd582d6f27', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_rating VALUES ('20261123-A005', '330199-QSXZWFWZX', '20261123-A005', 'A001', 3, 'S0101', 'SB', '330199-SB-0001', NULL, NULL, 'QSXZWFWZX', '330199', '2026.1', 1, 'keypad-01', NULL, 'very_dissatisfied', 'R02', '5', false, '2026-11-23 01:30:40+00', '2026-11-23 01:31:05+00', '2026-11-23', '13d30301efa8ce7b954b53820bcbd8d8d2a0bf4ac13b3802c74195e257906fc1', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_rating VALUES ('20261123-B001', '330102-XCQZWFW', '20261123-B001', 'A001', 1, 'S0101', 'SB', '330199-SB-0001', NULL, NULL, 'XCQ', '330102', '2026.1', 1, 'keypad-01', NULL, 'very_satisfied', '', '5', false, '2026-11-23 01:30:40+00', '2026-11-23 01:31:05+00', '2026-11-23', '882bfac231402bd952124b660cc1776d8b537c4e08cbec9615705ea7db1fb926', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_rating VALUES ('20261123-B002', '330102-XCQZWFW', '20261123-B002', 'A001', 1, 'S0101', 'SB', '330199-SB-0001', NULL, NULL, 'XCQ', '330102', '2026.1', 1, 'keypad-01', NULL, 'dissatisfied', 'R03', '5', false, '2026-11-23 01:30:40+00', '2026-11-23 01:31:05+00', '2026-11-23', '9dffbc030440b37a64043ceafd9a05797483f2f7b33099708b99ae98a6a75841', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_rating VALUES ('20261123-B003', '330102-XCQZWFW', '20261123-B003', 'A001', 1, 'S0101', 'SB', '330199-SB-0001', NULL, NULL, 'XCQ', '330102', '2026.1', 1, 'keypad-01', NULL, 'basically_satisfied', '', '5', false, '2026-11-23 01:30:40+00', '2026-11-23 01:31:05+00', '2026-11-23', '72a91eed9604d5c5217ac119329c0197e0ee6824142dc6483f9f1ea059cffddd', '2026-11-24 10:00:00+00');


--
-- Data for Name: satisfaction_served; Type: TABLE DATA; Schema: s1; Owner: -
--

INSERT INTO satisfaction_served VALUES ('330199-QSXZWFWZX', '2026-11-22', 1, 'S0101', 'SB', 40, '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_served VALUES ('330102-XCQZWFW', '2026-11-22', 1, 'S0101', 'SB', 40, '2026-11-24 10:00:00+00');


--
-- Data for Name: satisfaction_served_ticket; Type: TABLE DATA; Schema: s1; Owner: -
--

INSERT INTO satisfaction_served_ticket VALUES ('330199-QSXZWFWZX', '20261123-A001', '2026-11-23', 'A001', 1, 'S0101', 'SB', NULL, NULL, '2026-11-23 01:31:00+00', '79a6224859da67a750a0fee20d5200dcdf1fa3fa4c630adefb30d16b0c9b1617', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_served_ticket VALUES ('330199-QSXZWFWZX', '20261123-A002', '2026-11-23', 'A002', 2, 'S0101', 'SB', NULL, NULL, '2026-11-23 01:32:00+00', '54951ab5fd6be5195665304769bee2d62eca357c04cf5cb8495ee243f5b7f4b9', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_served_ticket VALUES ('330199-QSXZWFWZX', '20261123-A003', '2026-11-23', 'A003', 3, 'S0101', 'SB', NULL, NULL, '2026-11-23 01:33:00+00', 'fc605d494c05218e93598ba36c197f7efa7688f9aad173a31875269f0a2d2612', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_served_ticket VALUES ('330102-XCQZWFW', '20261123-A001', '2026-11-23', 'A001', 1, 'S0101', 'SB', NULL, NULL, '2026-11-23 01:31:00+00', 'd3ac658adb3c21aab61f5a3b528a4d924f1aaa2629bed9863774c1f10262ad4f', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_served_ticket VALUES ('330102-XCQZWFW', '20261123-A002', '2026-11-23', 'A002', 2, 'S0101', 'SB', NULL, NULL, '2026-11-23 01:32:00+00', '3f063afec618dbfa88cb2b197d37a1ca2b2992c6dfe3027fb5df33d57a2776e7', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_served_ticket VALUES ('330102-XCQZWFW', '20261123-A003', '2026-11-23', 'A003', 3, 'S0101', 'SB', NULL, NULL, '2026-11-23 01:33:00+00', '44fb9bfed31ec8f36000acfbaf762214fc30c93fa2bc424162db245b168e8fd1', '2026-11-24 10:00:00+00');


--
-- Data for Name: satisfaction_work_order; Type: TABLE DATA; Schema: s1; Owner: -
--

INSERT INTO satisfaction_work_order VALUES ('20261123-A005', '330199-QSXZWFWZX', '2026-11-23', 3, 'S0101', 'SB', 'very_dissatisfied', 'open', '2026-12-10', NULL, 2, 'R02', '2026-11-24 10:00:00+00', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_work_order VALUES ('20261123-B002', '330102-XCQZWFW', '2026-11-23', 1, 'S0101', 'SB', 'dissatisfied', 'open', '2026-11-30', NULL, 3, 'R03', '2026-11-24 10:00:00+00', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_work_order VALUES ('20261123-A002', '330199-QSXZWFWZX', '2026-11-23', 2, 'S0101', 'SB', 'dissatisfied', 'upheld', '2026-12-10', NULL, 1, 'R01,R05', '2026-11-24 10:00:00+00', '2026-11-24 10:00:00+00');


--
-- Data for Name: satisfaction_work_order_action; Type: TABLE DATA; Schema: s1; Owner: -
--

INSERT INTO satisfaction_work_order_action VALUES (1, 1, 'verify', 'open', 'verified', 'floor-a', 'floor_manager', '电话回访', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_work_order_action VALUES (2, 1, 'appeal', 'verified', 'appealed', 'floor-a', 'floor_manager', '群众误按', '2026-11-24 10:00:00+00');
INSERT INTO satisfaction_work_order_action VALUES (3, 1, 'uphold', 'appealed', 'upheld', '督查股', 'supervision', '维持', '2026-11-24 10:00:00+00');


--
-- Name: satisfaction_work_order_action_id_seq; Type: SEQUENCE SET; Schema: s1; Owner: -
--

SELECT pg_catalog.setval('satisfaction_work_order_action_id_seq', 3, true);


--
-- Name: satisfaction_work_order_id_seq; Type: SEQUENCE SET; Schema: s1; Owner: -
--

SELECT pg_catalog.setval('satisfaction_work_order_id_seq', 3, true);


--
-- Name: satisfaction_rating satisfaction_rating_pkey; Type: CONSTRAINT; Schema: s1; Owner: -
--

ALTER TABLE ONLY satisfaction_rating
    ADD CONSTRAINT satisfaction_rating_pkey PRIMARY KEY (rating_id);


--
-- Name: satisfaction_served satisfaction_served_pkey; Type: CONSTRAINT; Schema: s1; Owner: -
--

ALTER TABLE ONLY satisfaction_served
    ADD CONSTRAINT satisfaction_served_pkey PRIMARY KEY (hall_id, day, "window", staff_id, service);


--
-- Name: satisfaction_served_ticket satisfaction_served_ticket_pkey; Type: CONSTRAINT; Schema: s1; Owner: -
--

ALTER TABLE ONLY satisfaction_served_ticket
    ADD CONSTRAINT satisfaction_served_ticket_pkey PRIMARY KEY (hall_id, ticket_id);


--
-- Name: satisfaction_work_order_action satisfaction_work_order_action_pkey; Type: CONSTRAINT; Schema: s1; Owner: -
--

ALTER TABLE ONLY satisfaction_work_order_action
    ADD CONSTRAINT satisfaction_work_order_action_pkey PRIMARY KEY (id);


--
-- Name: satisfaction_work_order satisfaction_work_order_pkey; Type: CONSTRAINT; Schema: s1; Owner: -
--

ALTER TABLE ONLY satisfaction_work_order
    ADD CONSTRAINT satisfaction_work_order_pkey PRIMARY KEY (id);


--
-- Name: satisfaction_work_order satisfaction_work_order_rating_id_key; Type: CONSTRAINT; Schema: s1; Owner: -
--

ALTER TABLE ONLY satisfaction_work_order
    ADD CONSTRAINT satisfaction_work_order_rating_id_key UNIQUE (rating_id);


--
-- Name: ix_satisfaction_rating_day; Type: INDEX; Schema: s1; Owner: -
--

CREATE INDEX ix_satisfaction_rating_day ON satisfaction_rating USING btree (day);


--
-- Name: ix_satisfaction_rating_hall_id; Type: INDEX; Schema: s1; Owner: -
--

CREATE INDEX ix_satisfaction_rating_hall_id ON satisfaction_rating USING btree (hall_id);


--
-- Name: ix_satisfaction_served_ticket_day; Type: INDEX; Schema: s1; Owner: -
--

CREATE INDEX ix_satisfaction_served_ticket_day ON satisfaction_served_ticket USING btree (day);


--
-- Name: ix_satisfaction_work_order_action_work_order_id; Type: INDEX; Schema: s1; Owner: -
--

CREATE INDEX ix_satisfaction_work_order_action_work_order_id ON satisfaction_work_order_action USING btree (work_order_id);


--
-- Name: ix_satisfaction_work_order_day; Type: INDEX; Schema: s1; Owner: -
--

CREATE INDEX ix_satisfaction_work_order_day ON satisfaction_work_order USING btree (day);


--
-- Name: ix_satisfaction_work_order_hall_id; Type: INDEX; Schema: s1; Owner: -
--

CREATE INDEX ix_satisfaction_work_order_hall_id ON satisfaction_work_order USING btree (hall_id);


--
-- Name: ix_satisfaction_work_order_state; Type: INDEX; Schema: s1; Owner: -
--

CREATE INDEX ix_satisfaction_work_order_state ON satisfaction_work_order USING btree (state);


--
-- PostgreSQL database dump complete
--


